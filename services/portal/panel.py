"""The review panel's pages (reviewers and admins): the review queue, scoring, an idea's reviews, deciding."""

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
