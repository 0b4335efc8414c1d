"""deploy/smtp_sink.py, run as a process: it accepts email and lists it, escaped, on its page."""

import asyncio
import smtplib
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import httpx

from tests.support.ports import free_port
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[3]




async def test_the_sink_lists_received_emails_as_json_and_as_an_escaped_page():
    smtp_port, http_port = free_port(), free_port()
    process = subprocess.Popen([sys.executable, str(ROOT / "deploy/smtp_sink.py"), "--smtp-port", str(smtp_port),
                                "--http-port", str(http_port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}") as client:

            async def up():
                try:
                    return (await client.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    assert process.poll() is None, process.stderr.read().decode()
                    return False

            await eventually(up, timeout=20, what="the sink listening")
            message = EmailMessage()
            message["From"], message["To"] = "svc@localhost", "Eve <eve@dept.example.org>"
            message["Subject"] = "Idea submitted: <script>alert(1)</script>"
            message.set_content("Body with <b>markup</b>.")
            await asyncio.to_thread(_send, smtp_port, message)
            (got,) = (await client.get("/api/messages")).json()["messages"]
            assert got["rcpt_to"] == ["eve@dept.example.org"] and got["subject"] == message["Subject"]
            assert "<b>markup</b>" in got["text"]
            page = (await client.get("/")).text
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page
            assert (await client.delete("/api/messages")).status_code == 204
            assert (await client.get("/api/messages")).json() == {"messages": []}
    finally:
        process.terminate()
        process.wait(10)


def _send(port: int, message: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(message)
