"""Collect a notebook run's result through every channel that can work, in a fixed order.

    outcome = collect([ProjectFileChannel(read), ObjectStoreChannel(get), InboxChannel(folder)],
                      expected, guidance=Guidance(notebook=name, inbox=folder))
    outcome.status, outcome.channel, outcome.record, outcome.message, outcome.attempts

Channels, always tried in this order whatever order they are given in:

1. ``local execution`` -- run the notebook with nbclient (the local platform; the emulator's operator
   runs it the same way before the cloud channels read it back);
2. ``project file`` -- the notebook read back from the project (``files/read``; the platform supplies the
   reader). It may come back with execution counts but empty outputs (a known Research quirk);
3. ``object store`` -- the record the notebook saved under ``qcloop/results/<nonce>.json``;
4. ``inbox`` -- a downloaded ``.ipynb`` a person dropped into the workspace's inbox folder, matched by
   the nonce in its metadata.

A FRESH notebook wins at once and names its channel. A FRESH bare record (the Object Store) wins only
if no notebook of the same run discredits it (tampered cells, or a result cell that ran after a failure
or outside one clean pass: ``Classification.discredits_record``), because a record alone cannot show how
its run went; so the inbox is still read after it. When nothing is fresh, the most telling
classification is reported (FAILED, then TAMPERED, MALFORMED, OUTPUTS_MISSING, STALE, NOT_RUN), with
what every channel said, so the person sees both the problem and what qcloop already tried. A channel
that cannot be read (e.g. the network is down) is reported and skipped; it never counts as "not run".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from nbformat import NotebookNode

from orchestrator.errors import AuthenticationError, CredentialsError, MalformedNotebookError, QcloopError
from orchestrator.notebooks.classify import (
    Classification,
    Expected,
    Guidance,
    Record,
    RunStatus,
    classify_notebook,
    classify_record,
    expected_nonce,
    read_notebook,
)
from orchestrator.notebooks.provenance import METADATA_KEY
from orchestrator.notebooks.records import result_key
from orchestrator.notebooks.render import notebook_text


class ChannelName(StrEnum):
    LOCAL_EXECUTION = "local execution"
    PROJECT_FILE = "project file"
    OBJECT_STORE = "object store"
    INBOX = "inbox"


CHANNEL_ORDER = (ChannelName.LOCAL_EXECUTION, ChannelName.PROJECT_FILE, ChannelName.OBJECT_STORE,
                 ChannelName.INBOX)
# When no channel is fresh, the classification that tells the person most wins.
REPORT_PRIORITY = (RunStatus.FAILED, RunStatus.TAMPERED, RunStatus.MALFORMED, RunStatus.OUTPUTS_MISSING,
                   RunStatus.STALE, RunStatus.NOT_RUN)

Content = str | bytes | Mapping[str, Any] | None


@dataclass(frozen=True)
class ChannelAnswer:
    classification: Classification
    notebook: NotebookNode | None = None  # the notebook that came back, if the channel returns one
    source: str | None = None             # e.g. the inbox file


class Channel(Protocol):
    name: ChannelName

    def fetch(self, expected: Expected, guidance: Guidance) -> ChannelAnswer: ...


def _parsed(content: Content) -> NotebookNode | None:
    if content is None:
        return None
    try:
        return read_notebook(content)
    except MalformedNotebookError:
        return None


@dataclass
class LocalExecutionChannel:
    """Run the rendered notebook in a kernel (``run`` is e.g. a partial of ``execute_notebook``)."""

    notebook: NotebookNode
    run: Callable[[NotebookNode], NotebookNode]
    name: ChannelName = ChannelName.LOCAL_EXECUTION

    def fetch(self, expected: Expected, guidance: Guidance) -> ChannelAnswer:
        executed = self.run(self.notebook)
        return ChannelAnswer(classify_notebook(executed, expected, guidance=guidance), executed)


@dataclass
class ProjectFileChannel:
    """The notebook read back from the project; ``read`` returns its content, or None if absent."""

    read: Callable[[], Content]
    name: ChannelName = ChannelName.PROJECT_FILE

    def fetch(self, expected: Expected, guidance: Guidance) -> ChannelAnswer:
        content = self.read()
        return ChannelAnswer(classify_notebook(content, expected, guidance=guidance), _parsed(content))


@dataclass
class ObjectStoreChannel:
    """The record saved under ``qcloop/results/<nonce>.json``; ``read(key)`` returns it, or None."""

    read: Callable[[str], Content]
    name: ChannelName = ChannelName.OBJECT_STORE

    def fetch(self, expected: Expected, guidance: Guidance) -> ChannelAnswer:
        key = result_key(expected_nonce(expected))
        classification = classify_record(self.read(key), expected, guidance=guidance)
        if classification.status is RunStatus.NOT_RUN:
            classification = Classification(RunStatus.NOT_RUN, f"nothing stored under {key} yet.")
        return ChannelAnswer(classification, source=key)


@dataclass
class InboxChannel:
    """Downloaded notebooks a person dropped into ``folder``, matched by the run nonce in their metadata.

    A notebook of the same hypothesis and kind with another nonce counts (STALE); an unreadable file
    counts only when its name starts with the notebook's name (MALFORMED); other files are ignored.
    Newest files are looked at first.
    """

    folder: Path
    name: ChannelName = ChannelName.INBOX

    def fetch(self, expected: Expected, guidance: Guidance) -> ChannelAnswer:
        stem = Path(guidance.notebook).stem
        files = sorted(self.folder.glob("*.ipynb"), key=lambda p: (p.stat().st_mtime, p.name), reverse=True) \
            if self.folder.is_dir() else []
        answers = []
        for path in files:
            answer = self._look_at(path, stem, expected, guidance)
            if answer is not None:
                if answer.classification.status is RunStatus.FRESH:
                    return answer
                answers.append(answer)
        if not answers:
            return ChannelAnswer(Classification(RunStatus.NOT_RUN, f"no notebook for run "
                                                f"{expected_nonce(expected)[:8]} in {self.folder}."))
        return min(answers, key=lambda a: REPORT_PRIORITY.index(a.classification.status))

    def _look_at(self, path: Path, stem: str, expected: Expected, guidance: Guidance) -> ChannelAnswer | None:
        named = Guidance(notebook=f"{path.name} (inbox)", where=guidance.where, inbox=guidance.inbox)
        try:
            notebook = read_notebook(path.read_bytes(), source=path.name)
        except (MalformedNotebookError, OSError) as exc:
            if not path.name.startswith(stem):
                return None
            return ChannelAnswer(Classification(RunStatus.MALFORMED, f"{exc} -- replace {path} with the "
                                                "notebook downloaded from Research."), source=str(path))
        meta = notebook.metadata.get(METADATA_KEY)
        meta = meta if isinstance(meta, Mapping) else {}
        mine = meta.get("nonce") == expected_nonce(expected)
        if not mine and not self._same_hypothesis(meta, expected, path, stem):
            return None
        return ChannelAnswer(classify_notebook(notebook, expected, guidance=named), notebook, str(path))

    @staticmethod
    def _same_hypothesis(meta: Mapping[str, Any], expected: Expected, path: Path, stem: str) -> bool:
        if isinstance(expected, str):
            return path.name.startswith(stem)
        return meta.get("hypothesis_id") == expected.hypothesis_id and meta.get("kind") == expected.kind.value


@dataclass(frozen=True)
class Attempt:
    channel: ChannelName
    status: RunStatus | None  # None: the channel could not be read (error says why)
    message: str
    error: str | None = None


@dataclass(frozen=True)
class CollectionResult:
    classification: Classification
    channel: ChannelName | None  # the channel whose answer is reported (the fresh one, if any)
    attempts: list[Attempt] = field(default_factory=list)
    notebook: NotebookNode | None = None
    source: str | None = None

    @property
    def status(self) -> RunStatus:
        return self.classification.status

    @property
    def record(self) -> Record | None:
        return self.classification.record

    @property
    def moves_loop(self) -> bool:
        return self.classification.moves_loop

    @property
    def notebook_json(self) -> str | None:
        return notebook_text(self.notebook) if self.notebook is not None else None

    @property
    def message(self) -> str:
        tried = "; ".join(f"{a.channel.value}: {a.status.value if a.status else 'unreadable'}"
                          for a in self.attempts)
        return f"{self.classification.message} (checked {tried})" if tried else self.classification.message


def collect(channels: Iterable[Channel], expected: Expected, *, guidance: Guidance | None = None) -> CollectionResult:
    """Try ``channels`` in the fixed order (CHANNEL_ORDER) until one gives a FRESH notebook (see the
    module docstring for a FRESH bare record)."""
    guide = guidance or Guidance()
    ordered = sorted(channels, key=lambda c: CHANNEL_ORDER.index(c.name))
    attempts: list[Attempt] = []
    answers: list[tuple[Channel, ChannelAnswer]] = []
    for channel in ordered:
        try:
            answer = channel.fetch(expected, guide)
        except (AuthenticationError, CredentialsError):
            raise  # waiting does not mend credentials: the loop stops and says what to fix
        except QcloopError as exc:
            attempts.append(Attempt(channel.name, None, str(exc), error=str(exc)))
            continue
        attempts.append(Attempt(channel.name, answer.classification.status, answer.classification.message))
        if answer.classification.status is RunStatus.FRESH and answer.notebook is not None:
            return CollectionResult(answer.classification, channel.name, attempts, answer.notebook, answer.source)
        answers.append((channel, answer))
    if not answers:
        errors = "; ".join(f"{a.channel.value}: {a.error}" for a in attempts)
        return CollectionResult(Classification(RunStatus.NOT_RUN, f"qcloop could not read any channel ({errors}); "
                                               "it will try again."), None, attempts)
    channel, answer = _reported(answers)
    return CollectionResult(answer.classification, channel.name, attempts, answer.notebook, answer.source)


def _reported(answers: list[tuple[Channel, ChannelAnswer]]) -> tuple[Channel, ChannelAnswer]:
    """A fresh bare record unless a notebook of its run discredits it; else the most telling answer."""
    fresh = [item for item in answers if item[1].classification.status is RunStatus.FRESH]
    discrediting = [item for item in answers if item[1].classification.discredits_record]
    if fresh and not discrediting:
        return fresh[0]
    pool = discrediting or answers
    channel, answer = min(pool, key=lambda item: REPORT_PRIORITY.index(item[1].classification.status))
    if fresh:
        note = (" The Object Store holds a record of this run, but that run is the one this notebook shows, "
                "so qcloop does not use the record.")
        answer = replace(answer, classification=replace(answer.classification,
                                                        message=answer.classification.message + note))
    return channel, answer
