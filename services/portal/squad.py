"""The squad's pages: the department's experiments, planning, starting, measuring, rescheduling, closing."""

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
