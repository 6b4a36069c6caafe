"""Business forms (业务单) and their templates."""
