"""The simulated world (accounts, profiles, devices, catalogues) and each topic's activity model."""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

from schemas.events import DEVICE_TYPES, LIVE_ACTIONS, PLAYBACK_ACTIONS

# -- the simulated world ---------------------------------------------------------

_COUNTRIES: Final = (
    ("US", 30),
    ("BR", 10),
    ("GB", 8),
    ("IN", 8),
    ("DE", 6),
    ("FR", 6),
    ("MX", 6),
    ("JP", 5),
    ("KR", 5),
    ("CA", 5),
    ("ES", 4),
    ("IT", 4),
    ("AU", 3),
)
_DEVICE_WEIGHTS: Final = (35, 30, 10, 15, 10)  # tv, mobile, tablet, web, console
_ADJECTIVES: Final = (
    "Crimson", "Silent", "Hidden", "Broken", "Golden", "Midnight", "Lost", "Wild", "Frozen",
    "Electric", "Dark", "Last", "Secret", "Burning", "Little", "Hollow", "Iron", "Neon",
    "Paper", "Quiet", "Savage", "Velvet", "Northern", "Bitter",
)  # fmt: skip
_NOUNS: Final = (
    "Harbor", "Signal", "Kingdom", "Garden", "Empire", "River", "Witness", "Frontier",
    "Machine", "Orchard", "Circuit", "Island", "Letters", "Detective", "Crown", "Summer",
    "Echo", "Protocol", "Station", "Heist", "Tides", "Academy", "Bakery", "Dynasty",
)  # fmt: skip
_GENRES: Final = (
    "comedy", "thriller", "anime", "documentary", "k-drama", "true crime", "stand-up",
    "romance", "sci-fi", "horror", "cooking show", "reality tv", "kids", "action movies",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Device:
    device_id: str
    device_type: str


@dataclass(frozen=True, slots=True)
class _Account:
    account_id: str
    country: str
    devices: tuple[_Device, ...]


@dataclass(frozen=True, slots=True)
class _Profile:
    profile_id: str
    account: _Account
    devices: tuple[_Device, ...]


@dataclass(frozen=True, slots=True)
class _Title:
    title_id: str
    name: str
    runtime_ms: int


@dataclass(frozen=True, slots=True)
class _Weighted:
    """Items with cumulative weights, for O(log n) sampling."""

    items: tuple[Any, ...]
    cum: tuple[float, ...]

    def pick(self, rng: random.Random) -> Any:
        i = bisect.bisect_right(self.cum, rng.random() * self.cum[-1])
        return self.items[min(i, len(self.items) - 1)]


def _weighted(items: Sequence[Any], weights: Iterable[float]) -> _Weighted:
    cum: list[float] = []
    total = 0.0
    for w in weights:
        total += w
        cum.append(total)
    return _Weighted(tuple(items), tuple(cum))


def _zipf(rng: random.Random, items: Sequence[Any], exponent: float) -> _Weighted:
    """Popularity with a long tail: a random item gets rank 1, another rank 2..."""
    shuffled = list(items)
    rng.shuffle(shuffled)
    return _weighted(shuffled, (1.0 / (rank + 1) ** exponent for rank in range(len(shuffled))))


@dataclass(frozen=True)
class _World:
    accounts: _Weighted  # by activity
    profiles: _Weighted  # by activity
    titles: _Weighted  # by popularity
    games: _Weighted
    live_events: _Weighted
    countries: _Weighted


def _hex_id(rng: random.Random, prefix: str, seen: set[str]) -> str:
    while True:
        value = f"{prefix}{rng.getrandbits(48):012x}"
        if value not in seen:
            seen.add(value)
            return value


@cache
def _world(seed: int, accounts: int) -> _World:
    """Accounts with 1-5 profiles and several devices, and the catalogues."""
    rng = random.Random(f"rdg-world:{seed}:{accounts}")
    countries = _weighted([c for c, _ in _COUNTRIES], [w for _, w in _COUNTRIES])
    device_types = _weighted(DEVICE_TYPES, _DEVICE_WEIGHTS)
    seen: set[str] = set()
    account_list: list[_Account] = []
    account_weights: list[float] = []
    profiles: list[_Profile] = []
    profile_weights: list[float] = []
    for _ in range(accounts):
        devices = tuple(
            _Device(_hex_id(rng, "d", seen), device_types.pick(rng))
            for _ in range(rng.choices((1, 2, 3, 4, 5, 6), (10, 25, 30, 20, 10, 5))[0])
        )
        account = _Account(_hex_id(rng, "a", seen), countries.pick(rng), devices)
        activity = rng.lognormvariate(0.0, 1.0)
        account_list.append(account)
        account_weights.append(activity)
        for _ in range(rng.choices((1, 2, 3, 4, 5), (30, 25, 20, 15, 10))[0]):
            used = tuple(rng.sample(devices, rng.randint(1, len(devices))))
            profiles.append(_Profile(_hex_id(rng, "p", seen), account, used))
            profile_weights.append(activity * rng.uniform(0.2, 1.0))
    catalogue = max(200, accounts * 2)
    title_numbers = rng.sample(range(80_000_000, 81_000_000), catalogue)
    titles = []
    for number in title_numbers:
        adjective, noun = rng.choice(_ADJECTIVES), rng.choice(_NOUNS)
        name = rng.choice(
            (f"The {adjective} {noun}", f"{adjective} {noun}", f"{noun} of {adjective}")
        )
        movie = rng.random() < 0.4
        runtime = rng.randint(85, 160) if movie else rng.randint(20, 65)
        titles.append(_Title(f"t{number}", name, runtime * 60_000))
    games = [f"g{n:05d}" for n in rng.sample(range(100_000), max(20, accounts // 10))]
    live = [f"live{n:04d}" for n in rng.sample(range(10_000), 12)]
    return _World(
        accounts=_weighted(account_list, account_weights),
        profiles=_weighted(profiles, profile_weights),
        titles=_zipf(rng, titles, 1.07),
        games=_zipf(rng, games, 1.2),
        live_events=_zipf(rng, live, 0.8),
        countries=countries,
    )


# -- per-topic activity models -------------------------------------------------------


class _Model:
    """Produces realistic records of one topic (without event_id and ts)."""

    def __init__(self, world: _World, rng: random.Random) -> None:
        self.world = world
        self.rng = rng

    def country(self, account: _Account, travel: float = 0.03) -> str:
        if self.rng.random() < travel:
            return str(self.world.countries.pick(self.rng))
        return account.country

    def next(self) -> dict[str, Any]:
        """The next event of ongoing activity."""
        raise NotImplementedError

    def standalone(self) -> dict[str, Any]:
        """A plausible event outside ongoing sessions (for late and invalid events)."""
        return self.next()


@dataclass(slots=True)
class _Session:
    profile: _Profile
    device: _Device
    country: str
    item: str  # title or live event
    runtime_ms: int
    position_ms: int
    remaining: int  # PAUSEs (playback) or VOTEs (live) still to come


class _SessionModel(_Model):
    """Interleaved sessions: an opening event, a few middle ones, a closing one."""

    target = 64

    def __init__(self, world: _World, rng: random.Random) -> None:
        super().__init__(world, rng)
        self.active: list[_Session] = []
        self.busy: set[tuple[str, str]] = set()  # (profile, device) with an open session

    def next(self) -> dict[str, Any]:
        rng = self.rng
        active = self.active
        if not active or (
            len(active) < self.target and rng.random() < max(0.25, 1 - len(active) / self.target)
        ):
            session = self.open_free()
            if session is not None:
                active.append(session)
                return self.record(session, self.opening)
        i = rng.randrange(len(active))
        session = active[i]
        if self.advance(session):
            return self.record(session, self.middle)
        active[i] = active[-1]
        active.pop()
        self.busy.discard((session.profile.profile_id, session.device.device_id))
        return self.record(session, self.closing)

    def open_free(self) -> _Session | None:
        """A new session on a (profile, device) that is not already playing one."""
        for _ in range(8):
            session = self.open()
            slot = (session.profile.profile_id, session.device.device_id)
            if slot not in self.busy:
                self.busy.add(slot)
                return session
        return None

    opening = middle = closing = ""

    def open(self) -> _Session:
        raise NotImplementedError

    def advance(self, session: _Session) -> bool:
        """Move the session on; False when this is its closing event."""
        raise NotImplementedError

    def record(self, session: _Session, action: str) -> dict[str, Any]:
        raise NotImplementedError


class _Playback(_SessionModel):
    opening, middle, closing = PLAYBACK_ACTIONS

    def open(self) -> _Session:
        rng = self.rng
        profile: _Profile = self.world.profiles.pick(rng)
        title: _Title = self.world.titles.pick(rng)
        resume = rng.random() < 0.25
        return _Session(
            profile=profile,
            device=rng.choice(profile.devices),
            country=self.country(profile.account),
            item=title.title_id,
            runtime_ms=title.runtime_ms,
            position_ms=rng.randrange(0, title.runtime_ms // 2, 1000) if resume else 0,
            remaining=rng.choices((0, 1, 2, 3), (40, 30, 20, 10))[0],
        )

    def advance(self, session: _Session) -> bool:
        watched = self.rng.randint(15_000, 25 * 60_000)
        session.position_ms = min(session.position_ms + watched, session.runtime_ms)
        if session.remaining > 0 and session.position_ms < session.runtime_ms:
            session.remaining -= 1
            return True
        return False

    def record(self, session: _Session, action: str) -> dict[str, Any]:
        return {
            "account_id": session.profile.account.account_id,
            "profile_id": session.profile.profile_id,
            "title_id": session.item,
            "device_id": session.device.device_id,
            "device_type": session.device.device_type,
            "country": session.country,
            "action": action,
            "position_ms": session.position_ms,
        }

    def standalone(self) -> dict[str, Any]:
        session = self.open()
        action = self.rng.choice(PLAYBACK_ACTIONS)
        if action != "START":
            session.position_ms = self.rng.randrange(0, session.runtime_ms, 1000)
        return self.record(session, action)


class _Live(_SessionModel):
    opening, middle, closing = LIVE_ACTIONS

    def open(self) -> _Session:
        rng = self.rng
        profile: _Profile = self.world.profiles.pick(rng)
        return _Session(
            profile=profile,
            device=rng.choice(profile.devices),
            country=profile.account.country,
            item=self.world.live_events.pick(rng),
            runtime_ms=0,
            position_ms=0,
            remaining=rng.choices((0, 1, 2, 3, 4), (30, 25, 20, 15, 10))[0],
        )

    def advance(self, session: _Session) -> bool:
        if session.remaining > 0:
            session.remaining -= 1
            return True
        return False

    def record(self, session: _Session, action: str) -> dict[str, Any]:
        return {
            "profile_id": session.profile.profile_id,
            "live_event_id": session.item,
            "device_id": session.device.device_id,
            "device_type": session.device.device_type,
            "action": action,
        }

    def standalone(self) -> dict[str, Any]:
        return self.record(self.open(), self.rng.choice(LIVE_ACTIONS))


class _Login(_Model):
    def __init__(self, world: _World, rng: random.Random) -> None:
        super().__init__(world, rng)
        self.seen: set[str] = set()

    def next(self) -> dict[str, Any]:
        rng = self.rng
        account: _Account = self.world.accounts.pick(rng)
        new_device = rng.random() < 0.04
        if new_device:
            device = _Device(_hex_id(rng, "d", self.seen), rng.choice(DEVICE_TYPES))
        else:
            device = rng.choice(account.devices)
        return {
            "account_id": account.account_id,
            "device_id": device.device_id,
            "device_type": device.device_type,
            "country": self.country(account, 0.3 if new_device else 0.04),
            "success": rng.random() < (0.6 if new_device else 0.97),
        }


def _messy(rng: random.Random, text: str) -> str:
    """Text as people type it: any case, stray and doubled whitespace, cut short."""
    if rng.random() < 0.25 and len(text) > 4:
        text = text[: rng.randint(3, len(text) - 1)]
    case = rng.random()
    if case < 0.35:
        text = text.lower()
    elif case < 0.45:
        text = text.upper()
    elif case < 0.55:
        text = "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in text)
    if rng.random() < 0.3:
        text = text.replace(" ", rng.choice(("  ", "   ", "\t", " \u00a0")))
    if rng.random() < 0.3:
        text = rng.choice((" ", "  ", "\t")) + text
    if rng.random() < 0.3:
        text += rng.choice((" ", "  ", "\n", " \t"))
    return text


class _Search(_Model):
    def next(self) -> dict[str, Any]:
        rng = self.rng
        world = self.world
        profile: _Profile = world.profiles.pick(rng)
        title: _Title = world.titles.pick(rng)
        roll = rng.random()
        if roll < 0.6:
            query, clicked = title.name, title.title_id if rng.random() < 0.7 else None
        elif roll < 0.85:
            query = rng.choice(_GENRES)
            clicked = title.title_id if rng.random() < 0.4 else None
        else:
            query = rng.choice(title.name.split())
            clicked = title.title_id if rng.random() < 0.3 else None
        query = _messy(rng, query)
        if not query.strip():  # keep "ok" searches valid
            query = title.name
        return {"profile_id": profile.profile_id, "query": query, "clicked_title_id": clicked}


class _Gaming(_Model):
    def next(self) -> dict[str, Any]:
        rng = self.rng
        profile: _Profile = self.world.profiles.pick(rng)
        devices = [d for d in profile.devices if d.device_type != "web"] or list(profile.devices)
        device = rng.choice(devices)
        seconds = int(rng.lognormvariate(math.log(900), 0.9))
        return {
            "profile_id": profile.profile_id,
            "game_id": self.world.games.pick(rng),
            "device_id": device.device_id,
            "device_type": device.device_type,
            "session_seconds": min(max(seconds, 15), 6 * 3600),
        }


_MODELS: Final[dict[str, Callable[[_World, random.Random], _Model]]] = {
    "playback": _Playback,
    "login": _Login,
    "search": _Search,
    "gaming": _Gaming,
    "live": _Live,
}
