"""The lean ASGI path in front of the Starlette app: a POST to one of a few exact paths goes
straight to that path's own ASGI application, without Starlette's middleware stack or its walk
of the routing table; every other scope (another path or method, the lifespan, a websocket) is
the Starlette app's, unchanged.

It is an ASGI middleware in Starlette's own style, composed explicitly (`FastPath(app, posts)`,
as `althan.runtime.service.create_app` does). The applications in `posts` must be those the
Starlette app's first routes would reach for the same POSTs, so that taking the short cut
changes nothing but its cost: the path is matched as Starlette's routes match it, after taking
off the scope's ``root_path`` (a path the short cut does not know, such as one Starlette's
``$`` matches before a final newline, is still Starlette's to route).
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["FastPath", "route_path"]


def route_path(scope: Scope) -> str:
    """The path Starlette's routes match: ``path`` less a ``root_path`` prefix (up to a "/")
    (as ``starlette._utils.get_route_path``)."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if not root_path or not path.startswith(root_path):
        return path
    if path == root_path:
        return ""
    if path[len(root_path)] == "/":
        return path[len(root_path) :]
    return path


class FastPath:
    """`app`, with each POST to a path of `posts` answered by that path's application."""

    __slots__ = ("app", "posts")

    def __init__(self, app: Starlette, posts: Mapping[str, ASGIApp]) -> None:
        self.app = app
        """The Starlette app behind (its router, its state, its lifespan)."""
        self.posts = dict(posts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            endpoint = self.posts.get(route_path(scope))
            if endpoint is not None:
                await endpoint(scope, receive, send)
                return
        await self.app(scope, receive, send)
