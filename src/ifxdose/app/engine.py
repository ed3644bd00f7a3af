"""The recommendation engine the use cases call (``ifxdose.domain.recommend`` by default).
The web app's ``create_app(settings, recommender=...)`` takes any ``Recommender`` whose
``recommend`` returns the domain's ``Recommendation``, so tests can stand in a fake; the
use cases never branch on which one they hold."""

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
