"""POST /v1/ideas builds IdeaSubmitted with model_construct (issue 17): sound only while every field of
the request model (SubmitIdea) is IdeaSubmitted's own field with the same type and constraints, and the
two the handler adds (idea_id, submitted_by) are the only others."""

from services.ideas.domain import new_id
from services.ideas.schemas import SubmitIdea
from shared.events import IdeaSubmitted
from shared.events.pseudonym import pseudonymise


def test_submit_idea_fields_are_the_events_own():
    request, event = SubmitIdea.model_fields, IdeaSubmitted.model_fields
    assert set(request) | {"idea_id", "submitted_by"} == set(event)
    for name, field in request.items():
        assert field.annotation == event[name].annotation, name
        assert field.metadata == event[name].metadata, name


def test_constructed_event_equals_the_validated_one():
    body = SubmitIdea.model_validate({
        "title": "Fewer forms for new claimants", "problem": "Four forms.", "proposal": "One form.",
        "themes": ["ai", "customer-service"], "campaign": "one-big-thing-2025", "team": "Claims",
        "conversation_id": str(new_id())})
    constructed = IdeaSubmitted.model_construct(idea_id=new_id(), submitted_by=pseudonymise("secret", "person-1"),
                                                **body.model_dump())
    validated = IdeaSubmitted.model_validate(constructed.model_dump())
    assert constructed == validated
    assert constructed.__pydantic_serializer__.to_json(constructed) == validated.__pydantic_serializer__.to_json(validated)
