"""Standard reason phrases, used as problem titles."""

from http import HTTPStatus


def title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
