"""The recommendation engine the app calls (``ifxdose.domain.recommend`` by default).
``create_app(settings, recommender=...)`` takes any object with the same two functions,
so tests can stand in a fake; the app never branches on which one it holds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Recommender:
    recommend: Callable[..., Any]  # recommend(history, *, today) -> Recommendation
    predict_profile: Callable[..., Any]  # predict_profile(history) -> Profile
    #: predict_profile returns the domain's Profile: cache it in the database by history hash.
    cache_profiles: bool = False


def default_recommender() -> Recommender:
    from ifxdose.domain import recommend as engine

    return Recommender(recommend=engine.recommend, predict_profile=engine.predict_profile, cache_profiles=True)
