"""One aiogram Router per feature; `build_router` puts them in the order they must be tried."""
from __future__ import annotations

from aiogram import Router


def _detached(router: Router) -> Router:
    """Feature routers are module singletons; a process that builds several dispatchers
    (the tests, the sandbox) re-attaches them to each new root."""
    parent = router.parent_router
    if parent is not None:
        parent.sub_routers.remove(router)
        router._parent_router = None  # aiogram has no public detach
    return router


def build_router() -> Router:
    from handlers import (
        admin,
        announce,
        channel,
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
        registration,
        reports,
        stats,
    )
    from handlers.discussions import moderation as discussions_moderation
    from handlers.proposals import moderation as proposals_moderation

    root = Router(name="root")
    guard.install(root)  # forged ids in any button are refused before any feature sees them
    root.include_routers(
        *(
            _detached(r)
            for r in (
                mediators.router,  # a mediator's commands also work while acting for a resident
                guard.router,
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
                proposals_moderation.router,
                discussions_moderation.router,
                moderation.router,
                fallback.router,  # always last
            )
        )
    )
    return root
