"""Cue features: regular expressions for each theme's cues in the annotation guidelines.

A feature block of the model: one feature per theme, on when the sentence contains one of
the theme's cues (and weighted by the linear model like any other feature). Cue phrases
the guidelines exclude ("fighter jets", "capital flight", "trade union") are blanked out
before the cues are searched, so "air strikes near the airport" still has an aviation cue
through "airport" while "air strikes" alone has none. The patterns live here, in the code,
and a model folder names its cue set by id: loading a model never compiles a regular
expression from a file.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Sequence
from functools import cached_property, reduce

from train.runtime.errors import ModelFileError

_ = r"[- ]?"  # "e-visa", "e visa", "evisa"; "counter-terrorism", "counterterrorism"

GUIDELINES_V1: dict[str, dict[str, list[str]]] = {
    "aviation": {
        "positive": [
            r"airlines?", r"airways", r"airliners?", r"airports?", r"aviation", r"flights?",
            r"carriers?", r"air" + _ + r"(?:craft|planes?)", r"aeroplanes?", r"planes?", r"jetliners?",
            r"(?:passenger|jumbo|private|business|commercial) jets?", r"jet fuel",
            r"runways?", r"air traffic", r"air navigation", r"airspace",
            r"air (?:travel|travell?ers|passengers?|fares?|tickets?|routes?|links?|connectivity|services?|"
            r"cargo|freight|safety|operators?|operations|crash|disaster|accident)",
            r"airfares?", r"airworthiness", r"pilots?", r"cabin crew", r"flight attendants?",
            r"boarding pass(?:es)?", r"(?:passenger|airport) terminals?",
            r"boeing|airbus|embraer|comac|ATR",  # makers of airliners
            r"ICAO|IATA|FAA|EASA|P?CAA",  # aviation bodies and regulators
            r"PIA|emirates|ryanair|easyjet|lufthansa|air (?:india|france|canada|china|arabia|asia|astana|blue|sial)",
        ],
        "negative": [
            r"(?:fighter|war|spy|combat|military|air force|surveillance|reconnaissance|stealth|drone|"
            r"unmanned) (?:jets?|air" + _ + r"craft|planes?|pilots?|flights?)",
            r"fighter" + _ + r"(?:jets?|planes?)", r"air" + _ + r"strikes?", r"air force", r"air defen[cs]e",
            r"air raids?", r"aircraft carriers?", r"(?:mobile|wireless|telecom|phone|network) carriers?",
            r"capital flight", r"flight (?:of|from) (?:capital|investors?|money|talent|deposits)",
            r"fight" + _ + r"or" + _ + r"flight", r"top" + _ + r"flight", r"space" + _ + r"flights?",
            r"pilot (?:project|programme|program|scheme|phase|study|initiative|run|basis|test|plant)s?",
            r"(?:united )?arab emirates",
        ],
    },
    "counterterrorism": {
        "positive": [
            r"terror\w*", r"(?:counter|anti)" + _ + r"terror\w*", r"militan(?:ts?|cy)", r"insurgen(?:ts?|cy|cies)",
            r"counter" + _ + r"insurgency", r"extremis(?:m|ts?)", r"(?:de)?radicali[sz](?:ation|ed)",
            r"jihad\w*", r"suicide (?:bomb\w*|attacks?|vests?)", r"bomb(?:ings?|ers?)", r"IEDs?",
            r"improvised explosive", r"islamic state|ISIS(?:-K)?|ISIL|ISKP|daesh", r"al" + _ + r"qa[e']?ida",
            r"TTP|teh?r(?:ee|i)k" + _ + r"(?:e|i)" + _ + r"taliban|pakistani taliban",
            r"boko haram|al" + _ + r"shabaa?b|haqqani network|baloch liberation army|BLA",
            r"lashkar" + _ + r"(?:e|i)" + _ + r"ta[iy]y?ba|jaish" + _ + r"(?:e|i)" + _ + r"mohamm?ed",
            r"FATF|NACTA|CTD",  # terror-financing watchdog, Pakistan's counterterrorism bodies
            r"hijack\w*", r"hostages?", r"(?:sleeper|militant) cells?",
            r"zarb" + _ + r"e" + _ + r"azb", r"radd" + _ + r"ul" + _ + r"fasaad", r"azm" + _ + r"e" + _ + r"istehkam",
        ],
        "negative": [
            r"(?:strategic|stealth|heavy|B-\d+) bombers?",  # military aircraft: a war between states
        ],
    },
    "trade": {
        "positive": [
            r"trade[sd]?", r"trading (?:partners?|blocs?|nations?|relations|routes?|ties)",
            r"tariffs?", r"tariff" + _ + r"free", r"(?:customs|import|export|anti" + _ + r"dumping|"
            r"countervailing|retaliatory) dut(?:y|ies)", r"duty" + _ + r"free (?:access|entry|imports?|exports?)",
            r"(?:re" + _ + r")?(?:export|import)(?:s|ed|ers?|ing)?", r"anti" + _ + r"dumping", r"dumping",
            r"countervailing", r"market access", r"customs (?:clearance|union|procedures|checks|officials)",
            r"quota" + _ + r"free", r"(?:import|export|tariff) quotas?", r"embargo(?:es|ed)?",
            r"WTO", r"GATT", r"NAFTA", r"USMCA", r"RCEP", r"CPTPP", r"mercosur", r"GSP(?: plus|\+)?",
            r"FTAs?", r"protectionis(?:m|t)", r"commerce", r"section (?:232|301)", r"supply chains?",
            r"shipments? of", r"barter",
        ],
        "negative": [
            r"trade" + _ + r"unions?", r"trade" + _ + r"unionists?", r"trade" + _ + r"offs?",
            r"trade[sd]? (?:barbs|accusations|blows|insults|fire|punches|jabs|places|words|allegations|blame)",
            r"trading (?:barbs|accusations|blows|insults|fire|punches|jabs|places|words|allegations|blame)",
            r"(?:was|were|been|got|get|be) traded", r"world trade cent(?:er|re)",
            r"(?:drug|narcotics|arms|wildlife|sex|human|slave|organ) trade", r"prisoner (?:swaps?|exchanges?)",
            r"(?:stock|share|shares|equity|bond|currency|forex|futures|insider) trading",
        ],
    },
    "visas": {
        "positive": [
            r"visas?", r"e" + _ + r"visas?", r"visa" + _ + r"free", r"visa" + _ + r"on" + _ + r"arrival",
            r"(?:work|residence|residency|entry|stay|transit|landing) permits?", r"iqamas?",
            r"travel bans?", r"entry bans?", r"(?:barred|banned|prohibited) from entering",
            r"(?:denied|refused) entry", r"entry (?:rules|requirements|restrictions|conditions)",
            r"schengen", r"ETIAS", r"ESTA", r"\bETAs?\b", r"electronic travel authori[sz]ations?",
            r"overstay\w*", r"green cards?", r"H" + _ + r"1B", r"blue cards?", r"golden passports?",
            r"permanent residen(?:cy|ce)", r"(?:diplomatic|official) passport holders?",
            r"passport (?:index|ranking|power|strength)", r"henley", r"(?:most|least) powerful passports?",
            r"immigration (?:rules|laws?|polic(?:y|ies)|requirements|checks)",
        ],
        "negative": [
            r"visa (?:inc|card|cards|and mastercard|network)", r"mastercard and visa",
            r"\bETA\b (?:separatists?|militants?|group)", r"eta (?:of|for) (?:the )?(?:arrival|delivery)",
        ],
    },
}


def _compile(patterns: Sequence[str]) -> re.Pattern:
    """One alternation, word-bounded unless a pattern sets its own boundaries. Patterns and
    texts are lowercased rather than matched with IGNORECASE, which is about twice as slow
    (no pattern uses an upper-case escape such as \\W or \\B). Runs of patterns whose every
    match begins with a word character share one leading ``\\b(?=\\w)``, so that the engine
    tries them at word starts only, not at every position (the same matches, in the same order)."""
    parts, run = [], []
    for pattern in [*patterns, None]:
        # a pattern that sets its own boundaries (\b...) keeps them: in a run it would gain a
        # trailing \b that it may not have
        if pattern is not None and not pattern.startswith(r"\b") and _starts_with_word_character(pattern):
            run.append(pattern)
            continue
        if run:
            parts.append(rf"\b(?=\w)(?:{'|'.join(run)})\b")
            run = []
        if pattern is not None:
            parts.append(pattern if pattern.startswith(r"\b") else rf"\b(?:{pattern})\b")
    return re.compile("|".join(parts).lower())


def _starts_with_word_character(source: str) -> bool:
    """Whether every match of ``source`` begins with a word character (False when unsure)."""
    return all(_items_start_with_word_character(_items(a)) for a in _alternatives(source))


def _items_start_with_word_character(items: list[tuple[str, str, bool]]) -> bool:
    for kind, text, mandatory in items:
        if kind == "other" and text in ("", r"\b"):
            continue  # zero width ("": where a run of literals ends)
        if kind == "literal":
            word = text.isalnum() or text == "_"
        elif kind == "group":
            word = _starts_with_word_character(text)
        elif kind == "other" and text.startswith("[") and not text.startswith("[^"):
            word = all(c.isascii() and (c.isalnum() or c == "_") for c in text[1:-1])  # no ranges: unsure
        else:
            word = kind == "other" and text in (r"\w", r"\d")
        if not word:
            return False
        if mandatory:
            return True
    return False  # every item optional: a match may be empty


CUE_SETS = {"guidelines-v1": GUIDELINES_V1}  # a new or changed list gets a new id

# Each theme's cues are searched only in texts that contain one of the literals that every
# match of them contains: most sentences hold no cue, and a few substring tests cost less
# than one search of a long alternation (Python's re tries each branch at each word).
_SPECIAL = set(".^$|")


def _items(source: str) -> list[tuple[str, str, bool]]:
    """The top-level items of a pattern without alternation: (kind, text, mandatory), kind
    "literal" (one character), "group" (a non-capturing group's body) or "other"."""
    items, i = [], 0
    while i < len(source):
        char = source[i]
        if char == "\\":
            kind, text, i = "other", source[i:i + 2], i + 2
        elif char == "(":
            depth, j = 0, i
            while True:
                depth += (source[j] == "(") - (source[j] == ")")
                if depth == 0:
                    break
                j += 2 if source[j] == "\\" else 1
            body = source[i + 1:j]
            (kind, text), i = ("group", body[2:]) if body.startswith("?:") else ("other", body), j + 1
        elif char == "[":
            j = source.index("]", i + 2)
            kind, text, i = "other", source[i:j + 1], j + 1
        else:
            kind, text, i = ("other" if char in _SPECIAL else "literal"), char, i + 1
        quantifier = ""
        if i < len(source) and source[i] in "?*+{":
            end = source.index("}", i) + 1 if source[i] == "{" else i + 1
            quantifier, i = source[i:end], end
            if i < len(source) and source[i] == "?":  # lazy
                i += 1
        items.append((kind, text, quantifier[:1] in ("", "+") or quantifier[:1] == "{" and quantifier[1] != "0"))
        if kind == "literal" and quantifier:  # once at most is certain: the run of literals ends here
            items.append(("other", "", True))
    return items


def required_literals(source: str) -> frozenset[str] | None:
    """Literals one of which every match of ``source`` contains (None: none is known)."""
    found: set[str] = set()
    for alternative in _alternatives(source):
        candidates, run = [], ""
        for kind, text, mandatory in _items(alternative) + [("other", "", True)]:
            if kind == "literal" and mandatory:
                run += text
                continue
            if run:
                candidates.append(frozenset([run]))
                run = ""
            if kind == "group" and mandatory and (inner := required_literals(text)) is not None:
                candidates.append(inner)
        if not candidates:
            return None
        found |= max(candidates, key=lambda c: min(map(len, c)))  # the rarest: longest shortest literal
    return frozenset(found)


def _alternatives(source: str) -> list[str]:
    """The top-level alternatives of a pattern's source."""
    out, depth, start, i = [], 0, 0, 0
    while i < len(source):
        if source[i] == "\\":
            i += 1
        elif source[i] == "(":
            depth += 1
        elif source[i] == ")":
            depth -= 1
        elif source[i] == "|" and depth == 0:
            out.append(source[start:i])
            start = i + 1
        i += 1
    return out + [source[start:]]


class _Theme:
    """One theme's cue search: its patterns, and the literals a text needs for each to match.

    A text is searched only with the patterns whose literals it holds (all of them when a
    pattern has none known): a pattern without its literal in the text cannot match there, so
    the answer is the same, and an alternation of a few patterns is searched several times
    faster than one of forty. A pattern whose every match begins with one of its literals
    (``tariffs?``) is tried only where the text has that literal, which is faster again."""

    def __init__(self, positive: Sequence[str], negative: Sequence[str]):
        self.sources = {"positive": list(positive), "negative": list(negative)}
        gates = {kind: [_gate(p) for p in patterns] for kind, patterns in self.sources.items()}
        self.literals = {kind: [literals for literals, _ in pairs] for kind, pairs in gates.items()}
        self._begins = {kind: [begins for _, begins in pairs] for kind, pairs in gates.items()}
        self.positive_needs = self._needs(self.literals["positive"])
        self.negative_needs = self._needs(self.literals["negative"])
        self._masks: dict[str, list[int | None]] = {}
        self._plans: dict[tuple[str, int], tuple] = {}

    @cached_property
    def positive(self) -> re.Pattern:
        """All the cue patterns in one search: for a text whose blanks may have joined
        literals. Compiled at first use, as it is rarely needed (a third of the load time of
        the cue features otherwise)."""
        return _compile(self.sources["positive"])

    @staticmethod
    def _needs(literals: list[frozenset[str] | None]) -> tuple[str, ...] | None:
        return None if None in literals else tuple(sorted(set().union(*literals), key=len))

    def number_literals(self, bit: dict[str, int]) -> None:
        """Take each literal's bit in the masks ``hit`` is given."""
        self._masks = {kind: [None if needs is None else sum(bit[n] for n in needs) for needs in literals]
                       for kind, literals in self.literals.items()}
        self._own = {kind: reduce(operator.or_, (m for m in masks if m is not None), 0)
                     for kind, masks in self._masks.items()}  # the bits of this theme's literals
        self._length = {b: len(literal) for literal, b in bit.items()}

    def _plan(self, kind: str, mask: int) -> tuple:
        """For the ``kind`` patterns whose literals ``mask`` has: the alternation of them all
        (None: no pattern), that of those tried everywhere (None: none), and the others, each
        compiled alone with its literals' bits."""
        key = (kind, mask & self._own[kind])
        plan = self._plans.get(key)  # one read: another thread may clear the plans at any time
        if plan is None:
            if len(self._plans) >= 4096:  # bounded: texts bring few sets of a theme's literals
                self._plans.clear()
            chosen = [(source, needs, begins) for source, needs, begins
                      in zip(self.sources[kind], self._masks[kind], self._begins[kind]) if needs is None or needs & mask]
            everywhere = [source for source, _, begins in chosen if not begins]
            plan = (_compile([source for source, _, _ in chosen]) if chosen else None,
                    _compile(everywhere) if everywhere else None,
                    [(_compile([source]), needs) for source, needs, begins in chosen if begins])
            self._plans[key] = plan
        return plan

    def _matches(self, plan: tuple, text: str, found: list[tuple[int, int]]) -> bool:
        """Whether a pattern of the plan matches ``text``, given (end, bit) of each literal found."""
        _, everywhere, at_literals = plan
        if everywhere is not None and everywhere.search(text) is not None:
            return True
        length = self._length
        for single, needs in at_literals:  # loops, not any() over a generator: this runs per text
            for end, bit in found:
                if needs & bit and single.match(text, end - length[bit] + 1) is not None:
                    return True
        return False

    def hit(self, text: str, mask: int, found: list[tuple[int, int]], may_blank: bool, may_hit: bool) -> bool:
        """Whether lowercased ``text`` has a cue, excluded phrases blanked out first, given the
        literals it holds ((end, bit) each, and the mask of their bits), and whether it holds
        a literal of the excluded phrases and of the cues (the gates)."""
        if may_blank and self._matches(negative := self._plan("negative", mask), text, found):
            blanked = negative[0].sub(" ", text)
            if blanked != text:  # a blank can join two literals: test the whole cue search
                return self.positive.search(blanked) is not None
        return may_hit and self._matches(self._plan("positive", mask), text, found)


def _gate(source: str) -> tuple[frozenset[str] | None, bool]:
    """The literals one of which a pattern's every match holds, and whether every match begins
    with one of them (only for literals of three characters or more: shorter ones are found
    too often in a text to be worth trying one by one)."""
    begins = prefix_literals(source.lower())
    if begins is not None and min(map(len, begins)) >= 3:
        return begins, True
    return required_literals(source.lower()), False


def prefix_literals(source: str) -> frozenset[str] | None:
    """Literals one of which every match of ``source`` begins with (None: none is known)."""
    found: set[str] = set()
    for alternative in _alternatives(source):
        items, i = _items(alternative), 0
        while i < len(items) and items[i][0] == "other" and items[i][1] in ("", r"\b"):
            i += 1  # zero width
        run = ""
        while i < len(items) and items[i][0] == "literal" and items[i][2]:
            run += items[i][1]
            i += 1
        if run:
            found.add(run)
        elif i < len(items) and items[i][0] == "group" and items[i][2] and \
                (inner := prefix_literals(items[i][1])) is not None:
            found |= inner
        else:
            return None
    return frozenset(found)


class Cues:
    """Which themes' cues a text contains, for the themes of a cue set."""

    def __init__(self, themes: Sequence[str], cue_set: str = "guidelines-v1"):
        patterns = CUE_SETS.get(cue_set)
        if patterns is None:
            raise ModelFileError(f"unknown cue set {cue_set!r}; this version knows {', '.join(CUE_SETS)}")
        unknown = sorted(set(themes) - set(patterns))
        if unknown:
            raise ModelFileError(f"cue set {cue_set!r} has no cues for {', '.join(unknown)}")
        self.themes = list(themes)
        self._rules = [_Theme(patterns[t]["positive"], patterns[t]["negative"]) for t in self.themes]
        # every pattern's literals: a theme with an ungated pattern still gates its others
        literals = sorted({literal for rule in self._rules for per_pattern in rule.literals.values()
                           for needs in per_pattern for literal in needs or ()})
        bit = {literal: 1 << i for i, literal in enumerate(literals)}
        for rule in self._rules:
            rule.number_literals(bit)
        self._gates = [tuple(None if needs is None else sum(bit[n] for n in needs)
                             for needs in (rule.negative_needs, rule.positive_needs)) for rule in self._rules]
        self._ungated = any(None in gate for gate in self._gates)  # a theme searched whatever literals a text has
        import ahocorasick  # only models with cue features need it

        automaton = ahocorasick.Automaton()
        for literal, value in bit.items():
            automaton.add_word(literal, value)
        automaton.make_automaton()
        self._find = automaton.iter if literals else lambda text: ()  # (end, bit) of each literal found

    def hits(self, text: str) -> list[int]:
        """Indices (into ``themes``) of the themes whose cues ``text`` contains."""
        return self.hits_many([text])[0]

    def hits_many(self, texts: Sequence[str]) -> list[list[int]]:
        """``hits`` of each text."""
        gates, rules, find, ungated = self._gates, self._rules, self._find, self._ungated
        out = []
        for text in texts:
            text, mask = text.lower(), 0
            found = list(find(text))
            for _, bit in found:
                mask |= bit
            themes = []
            if mask or ungated:  # most texts hold no literal of any theme: no search at all
                for i, (rule, (blank, hit)) in enumerate(zip(rules, gates)):
                    may_blank, may_hit = blank is None or blank & mask != 0, hit is None or hit & mask != 0
                    if (may_blank or may_hit) and rule.hit(text, mask, found, may_blank, may_hit):
                        themes.append(i)
            out.append(themes)
        return out
