"""An SMTP sink for local runs: accepts every email and lists what arrived on a web page.

    python deploy/smtp_sink.py            # SMTP on 127.0.0.1:1025, web page on http://127.0.0.1:8025/

`GET /` lists the emails (newest first), `GET /api/messages` gives them as JSON,
`DELETE /api/messages` empties the list. Emails are kept in memory only (the newest 500).
Ports and host: --smtp-port/--http-port/--host or SMTP_SINK_SMTP_PORT, SMTP_SINK_HTTP_PORT, SMTP_SINK_HOST.
"""

import argparse
import asyncio
import collections
import email
import email.policy
import html
import os
from datetime import datetime, timezone

import uvicorn
from aiosmtpd.smtp import SMTP
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

KEEP = 500


class Mailbox:
    def __init__(self) -> None:
        self.messages: collections.deque[dict] = collections.deque(maxlen=KEEP)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain", "html"))
        self.messages.appendleft({
            "received_at": datetime.now(timezone.utc).isoformat(),
            "mail_from": envelope.mail_from,
            "rcpt_to": list(envelope.rcpt_tos),
            "from": str(message.get("From", "")),
            "to": str(message.get("To", "")),
            "subject": str(message.get("Subject", "")),
            "message_id": str(message.get("Message-ID", "")),
            "headers": {k: str(v) for k, v in message.items()},
            "text": body.get_content() if body is not None else "",
        })
        return "250 Message accepted for delivery"


def web_app(mailbox: Mailbox) -> Starlette:
    async def page(_: Request) -> HTMLResponse:
        rows = "".join(
            f"<article><h2>{html.escape(m['subject']) or '(no subject)'}</h2>"
            f"<p><b>To</b> {html.escape(m['to'])} &middot; <b>From</b> {html.escape(m['from'])} &middot; "
            f"{html.escape(m['received_at'])}</p><pre>{html.escape(m['text'])}</pre></article>"
            for m in mailbox.messages
        ) or "<p>No emails yet.</p>"
        return HTMLResponse(
            "<!doctype html><html lang=en><head><meta charset=utf-8><title>SMTP sink</title>"
            "<meta http-equiv=refresh content=5><style>body{font-family:sans-serif;margin:2em;max-width:60em}"
            "article{border-bottom:1px solid #ccc}pre{white-space:pre-wrap}</style></head>"
            f"<body><h1>Emails received ({len(mailbox.messages)})</h1>{rows}</body></html>",
            headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"},
        )

    async def messages(request: Request) -> Response:
        if request.method == "DELETE":
            mailbox.messages.clear()
            return Response(status_code=204)
        return JSONResponse({"messages": list(mailbox.messages)})

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/", page), Route("/api/messages", messages, methods=["GET", "DELETE"]),
                             Route("/healthz", healthz)])


async def run(host: str, smtp_port: int, http_port: int) -> None:
    mailbox = Mailbox()
    loop = asyncio.get_running_loop()
    smtp = await loop.create_server(lambda: SMTP(mailbox, hostname="smtp-sink"), host, smtp_port)
    print(f"SMTP sink: smtp://{host}:{smtp_port}, emails at http://{host}:{http_port}/", flush=True)
    server = uvicorn.Server(uvicorn.Config(web_app(mailbox), host=host, port=http_port, log_level="warning"))
    try:
        await server.serve()
    finally:
        smtp.close()
        await smtp.wait_closed()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default=os.environ.get("SMTP_SINK_HOST", "127.0.0.1"))
    parser.add_argument("--smtp-port", type=int, default=int(os.environ.get("SMTP_SINK_SMTP_PORT", "1025")))
    parser.add_argument("--http-port", type=int, default=int(os.environ.get("SMTP_SINK_HTTP_PORT", "8025")))
    args = parser.parse_args()
    asyncio.run(run(args.host, args.smtp_port, args.http_port))


if __name__ == "__main__":
    main()
