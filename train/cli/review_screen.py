"""The terminal screen of `theme-review`: one sentence at a time, its themes, scores and the
n-grams behind them. Plain text and ASCII marks, so it works over SSH and in 80x24."""

from __future__ import annotations

import textwrap

from prompt_toolkit.application import Application
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.layout import HSplit, Layout, Window
from prompt_toolkit.layout.controls import FormattedTextControl
from prompt_toolkit.layout.dimension import Dimension

from train.runtime.predictor import Predictor
from train.training.review import ReviewSession

KEYS = "enter save  1-{n} toggle  0 no theme  s skip  u undo  q quit"
WHY_TERMS = 3  # n-grams shown per direction and theme


class ReviewScreen:
    def __init__(self, session: ReviewSession, predictor: Predictor):
        self.session, self.predictor = session, predictor
        self.themes = list(predictor.themes)
        self.message = f"{len(session.queue)} sentences to review; {session.decided} already saved"
        self._explained: dict[str, dict] = {}
        self._load_labels()
        self.app = Application(layout=self._layout(), key_bindings=self._keys(), full_screen=True)

    def run(self) -> None:
        self.app.run()

    def _load_labels(self) -> None:
        item = self.session.current
        self.labels = set(item.suggested) if item else set()

    def _layout(self) -> Layout:
        def text(render):
            return FormattedTextControl(lambda: render(self.app.output.get_size().columns))

        return Layout(HSplit([
            Window(text(self._header), height=1, style="reverse"),
            Window(text(self._sentence), height=Dimension(min=3, max=9), dont_extend_height=True),
            Window(text(self._themes), height=len(self.themes) + 2),
            Window(text(self._why), dont_extend_height=True),
            Window(),  # the rest of the screen, so that the status lines stay at the bottom
            Window(text(lambda width: self.message), height=1),
            Window(text(lambda width: KEYS.format(n=len(self.themes))), height=1, style="reverse"),
        ]))

    def _header(self, width: int) -> str:
        s = self.session
        run = s.model.get("run_id")
        made = f"run {run[:8]}" if run else f"made {str(s.model.get('created'))[:16].replace('T', ' ')}"
        where = f"{s.position + 1} of {len(s.queue)}" if s.current else f"done, {len(s.queue)} reviewed"
        return f" theme-review  {where}  saved {s.decided}  model {s.model.get('name')} ({made})"[:width]

    def _sentence(self, width: int) -> str:
        item = self.session.current
        if item is None:
            return "\nThe queue is done. Press q to quit (u takes the last step back)."
        s = item.sentence
        where = f"{s.file}:{s.line}; near a threshold {item.closeness:.2f}, models differ {item.disagreement:.2f}"
        return "\n" + textwrap.fill(s.text, width - 1) + "\n" + textwrap.fill(f"({where})", width - 1, initial_indent="  ")

    def _themes(self, width: int) -> str:
        item = self.session.current
        if item is None:
            return ""
        rows = ["", f"{'':4}{'theme':18}{'score':>7}{'threshold':>11}{'second':>8}"]
        for n, theme in enumerate(self.themes, start=1):
            mark = "[x]" if theme in self.labels else "[ ]"
            rows.append(f"{mark} {n} {theme:16}{item.scores[theme]:7.2f}{item.thresholds[theme]:11.2f}"
                        f"{item.second[theme]:8.2f}")
        return "\n".join(rows)

    def _why(self, width: int) -> str:
        item = self.session.current
        if item is None:
            return ""
        text = item.sentence.text
        if text not in self._explained:
            self._explained[text] = self.predictor.explain(text, top=WHY_TERMS)
        lines = ["", "n-grams that raise (+) and lower (-) each score:"]
        for theme, e in self._explained[text].items():
            up = " ".join(f'"{term}"' for term, _ in e["up"]) or "none"
            down = " ".join(f'"{term}"' for term, _ in e["down"]) or "none"
            lines.append(f"  {theme[:5]:5} + {up}  - {down}"[:width])
        return "\n".join(lines)

    def _keys(self) -> KeyBindings:
        keys = KeyBindings()
        session = self.session

        def act(step, after_the_end: bool = False):
            def handler(event):
                if session.current is not None or after_the_end:
                    self.message = step()
                    self._load_labels()
            return handler

        keys.add("enter")(act(lambda: session.decide(sorted(self.labels))))
        keys.add("0")(act(lambda: session.decide([])))
        keys.add("s")(act(session.skip))
        keys.add("u")(act(session.undo, after_the_end=True))

        for n, theme in enumerate(self.themes, start=1):
            @keys.add(str(n))
            def toggle(event, theme=theme):
                if session.current is not None:
                    self.labels ^= {theme}

        @keys.add("q")
        @keys.add("c-c")
        def quit_(event):
            event.app.exit()

        return keys
