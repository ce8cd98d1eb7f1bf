"""Stories: republications of one article share a story (first version: one story per article)."""

from __future__ import annotations


def assign_story(db, article_id: int, item: dict, seen: str) -> int:
    """Attach the stored article to a story and return the story id (inside the caller's transaction)."""
    story_id = db["stories"].insert(
        {"title": item.get("title"), "first_seen": seen, "first_source": item["source"],
         "first_article_id": article_id, "article_count": 1, "last_seen": seen}
    ).last_pk
    return story_id
