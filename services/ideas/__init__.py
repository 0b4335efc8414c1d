"""Ideas service: staff raise ideas; panels review, shortlist, back or decline them."""
