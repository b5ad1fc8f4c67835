"""One aiogram Router per feature; `build_router` puts them in the order they must be tried."""
from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.handler import CallableObject
from aiogram.dispatcher.event.telegram import TelegramEventObserver


def _detached(router: Router) -> Router:
    """Feature routers are module singletons; a process that builds several dispatchers
    (the tests, the sandbox) re-attaches them to each new root."""
    parent = router.parent_router
    if parent is not None:
        parent.sub_routers.remove(router)
        router._parent_router = None  # aiogram has no public detach
    return router


def _inline(obj: CallableObject) -> None:
    """aiogram runs a callable that is not a coroutine function (a magic filter such as
    ``F.data.startswith(...)``, a lambda) in a thread (``asyncio.to_thread``) on every update it is
    tried for. Ours are all quick: called inline instead, through a coroutine."""
    if obj.awaitable:
        return
    sync = obj.callback

    async def inline(*args: Any, **kwargs: Any) -> Any:
        return sync(*args, **kwargs)

    obj.callback = inline  # (the parameters aiogram passes were read from the original already)
    obj.awaitable = True


def callables(router: Router) -> list[CallableObject]:
    """Every handler and filter of the router and its sub-routers (also the routers' own filters)."""
    found: list[CallableObject] = []
    for each in router.chain_tail:
        for observer in each.observers.values():
            handlers = list(observer.handlers)
            if isinstance(observer, TelegramEventObserver):
                handlers.append(observer._handler)  # the router's own filters (observer.filter(...))
            for handler in handlers:
                found.append(handler)
                found.extend(getattr(handler, "filters", None) or ())
    return found


def build_router() -> Router:
    from handlers import (
        admin,
        announce,
        channel,
        dashboard,
        discussions,
        events,
        exports,
        fallback,
        groups,
        guard,
        mediators,
        moderation,
        orgs,
        polls,
        profile,
        proposals,
        recommendations,
        registration,
        reports,
        stats,
        whoami,
    )
    from handlers.discussions import moderation as discussions_moderation
    from handlers.moderation import passon as moderation_passon
    from handlers.proposals import moderation as proposals_moderation

    root = Router(name="root")
    guard.install(root)  # forged ids in any button are refused before any feature sees them
    root.include_routers(
        *(
            _detached(r)
            for r in (
                mediators.router,  # a mediator's commands also work while acting for a resident
                guard.router,
                whoami.router,
                dashboard.router,
                registration.router,
                profile.router,
                admin.router,
                announce.router,
                reports.router,
                polls.router,
                events.router,
                orgs.router,
                proposals.router,
                exports.router,
                stats.router,
                groups.router,
                discussions.router,
                channel.router,
                recommendations.router,
                proposals_moderation.router,
                discussions_moderation.router,
                moderation.router,
                moderation_passon.router,  # representatives act on a report passed on to their organisation
                polls.typed_router,  # a message nothing else took: a poll's free-text answer?
                fallback.router,  # always last
            )
        )
    )
    for obj in callables(root):
        _inline(obj)
    return root
