"""Projects, their files, and compiling them: the code side of the emulated service.

Rules from ``reference/qc-api.md`` §3.2-3.4: new projects get default files; a duplicate name on create
is renamed (``X`` -> ``X 1``) while renaming onto an existing name fails; a push (``projects/update``
with ``files``) replaces the whole file set; ``files/create`` refuses an existing name and an explicitly
empty content; compiling really checks the Python (``compiler.py``).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from orchestrator.emulator import templates
from orchestrator.emulator.compiler import check_project
from orchestrator.emulator.core import BackendCore, new_hex
from orchestrator.emulator.errors import (
    ConflictError,
    InvalidArgumentError,
    NotFoundError,
    UnsupportedRequestError,
    require,
)
from orchestrator.emulator.patching import apply_patch
from orchestrator.emulator.state import (
    CompileRecord,
    CompileState,
    EmulatorState,
    FileRecord,
    ProjectRecord,
    UserRecord,
    utc_now,
)
from orchestrator.emulator.timing import Gate

LANGUAGES = ("Py", "C#")


@dataclass
class CompileView:
    record: CompileRecord
    state: CompileState


def _validated_files(files: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """name -> content of a pushed file list; every name valid and given once."""
    result: dict[str, str] = {}
    for entry in files:
        require(isinstance(entry, Mapping), "files must be a list of {name, content} objects")
        name = _valid_file_name(str(entry.get("name", "")))
        require(name not in result, f"File '{name}' is given twice")
        result[name] = str(entry.get("content", ""))
    return result


def _valid_file_name(name: str) -> str:
    clean = name.strip().replace("\\", "/")
    path = PurePosixPath(clean)
    require(bool(clean) and not path.is_absolute() and ".." not in path.parts,
            f"Invalid file name '{name}': use a relative path without '..'")
    return str(path)


class ProjectsMixin(BackendCore):
    """projects/*, files/*, compile/*."""

    # ------------------------------------------------------------------------------------------
    # projects

    def _unique_name(self, organization_id: str, name: str, *, exclude: int | None = None) -> bool:
        return not any(p.name == name and p.organization_id == organization_id and p.project_id != exclude
                       for p in self._state.projects)

    def create_project(
        self, user: UserRecord, name: str, language: str, organization_id: str | None = None,
    ) -> ProjectRecord:
        clean = (name or "").strip().strip("/")
        require(bool(clean), "Project name is required")
        require(language in LANGUAGES, f"Language '{language}' is not supported: use Py or C#")
        org = self.organization(user, organization_id)
        now = utc_now()
        with self._mutating() as state:
            # The service renames a duplicate ('x' -> 'x 1'); the lean CLI expects exactly that.
            final, counter = clean, 0
            while not self._unique_name(org.organization_id, final):
                counter += 1
                final = f"{clean} {counter}"
            project = ProjectRecord(
                project_id=state.next_project_id, organization_id=org.organization_id, owner_id=user.user_id,
                name=final, language=language, created=now, modified=now,
            )
            state.next_project_id += 1
            for file_name, content in templates.default_files(final, language).items():
                project.files.append(self._new_file(state, file_name, content, now))
            state.projects.append(project)
            return project

    def _new_file(self, state: EmulatorState, name: str, content: str, now: dt.datetime) -> FileRecord:
        record = FileRecord(file_id=state.next_file_id, name=name, content=content, created=now, modified=now)
        state.next_file_id += 1
        return record

    def read_projects(
        self, user: UserRecord, project_id: int | None = None, *, start: int | None = None,
        end: int | None = None, organization_id: str | None = None,
    ) -> list[ProjectRecord]:
        if project_id is not None:
            return [self._project(user, project_id)]
        org = self.organization(user, organization_id)
        with self._lock:
            projects = sorted((p for p in self._state.projects if p.organization_id == org.organization_id),
                              key=lambda p: p.project_id)
        if start is None and end is None:
            return projects
        first = start or 0
        last = end if end is not None else len(projects)
        require(first >= 0 and last >= 0, "start and end must not be negative")
        require(first < last, "start must be less than end")
        return projects[first:last]

    def update_project(
        self, user: UserRecord, project_id: int, *, name: str | None = None, description: str | None = None,
        parameters: Mapping[str, str] | None = None, files: Sequence[Mapping[str, str]] | None = None,
        libraries: Sequence[int] | None = None, lean_version_id: int | None = None,
        lean_environment: int | None = None,
    ) -> ProjectRecord:
        project = self._project(user, project_id)
        # Validate everything first: a rejected update changes nothing.
        clean_name = None
        if name is not None:
            clean_name = name.strip().strip("/")
            require(bool(clean_name), "Project name cannot be empty")
        pushed = None if files is None else _validated_files(files)
        now = utc_now()
        with self._mutating() as state:
            if clean_name is not None:
                if not self._unique_name(project.organization_id, clean_name, exclude=project.project_id):
                    raise ConflictError(f"Project name '{clean_name}' is already in use in this organization")
                project.name = clean_name
            if description is not None:
                project.description = description
            if parameters is not None:
                project.parameters = {str(k): str(v) for k, v in parameters.items()}
            if pushed is not None:
                project.files = self._replaced_files(state, project, pushed, now)
            if libraries is not None:
                project.libraries = list(libraries)
            if lean_version_id is not None:
                project.lean_version_id = lean_version_id
            if lean_environment is not None:
                project.lean_environment = lean_environment
            project.modified = now
            return project

    def _replaced_files(
        self, state: EmulatorState, project: ProjectRecord, files: Mapping[str, str], now: dt.datetime,
    ) -> list[FileRecord]:
        """The project's files after a push: exactly the given set, keeping ids of unchanged names."""
        result: list[FileRecord] = []
        for name, content in files.items():
            existing = project.file(name)
            if existing is not None:
                if existing.content != content:
                    existing.content, existing.modified = content, now
                result.append(existing)
            else:
                result.append(self._new_file(state, name, content, now))
        return result

    def delete_project(self, user: UserRecord, project_id: int) -> None:
        project = self._project(user, project_id)
        with self._mutating() as state:
            state.projects = [p for p in state.projects if p.project_id != project.project_id]
            doomed = [b.backtest_id for b in state.backtests if b.project_id == project.project_id]
            state.backtests = [b for b in state.backtests if b.project_id != project.project_id]
            state.compiles = [c for c in state.compiles if c.project_id != project.project_id]
            for opt in state.optimizations:
                if opt.project_id == project.project_id:
                    self._aborts.get(opt.optimization_id, threading.Event()).set()
            state.optimizations = [o for o in state.optimizations if o.project_id != project.project_id]
        for backtest_id in doomed:
            self.store.delete_result(backtest_id)

    # ------------------------------------------------------------------------------------------
    # files

    def read_files(self, user: UserRecord, project_id: int, name: str | None = None) -> list[FileRecord]:
        project = self._project(user, project_id)
        if name is None:
            return list(project.files)
        found = project.file(_valid_file_name(name))
        if found is None:
            raise NotFoundError(f"File not found: {name}")
        return [found]

    def create_file(self, user: UserRecord, project_id: int, name: str, content: str | None) -> FileRecord:
        project = self._project(user, project_id)
        clean = _valid_file_name(name)
        # The service refuses an explicitly empty content but accepts an omitted one (mcp tests).
        require(content is None or content != "", "File content cannot be empty")
        with self._mutating() as state:
            if project.file(clean) is not None:
                raise ConflictError(f"File '{clean}' already exists in the project")
            now = utc_now()
            record = self._new_file(state, clean, content or "", now)
            project.files.append(record)
            project.modified = now
            return record

    def update_file(self, user: UserRecord, project_id: int, name: str, content: str) -> FileRecord:
        project = self._project(user, project_id)
        require(content != "", "File content cannot be empty")
        with self._mutating():
            found = project.file(_valid_file_name(name))
            if found is None:
                raise NotFoundError(f"File not found: {name}")
            now = utc_now()
            found.content, found.modified = content, now
            project.modified = now
            return found

    def rename_file(self, user: UserRecord, project_id: int, name: str, new_name: str) -> FileRecord:
        project = self._project(user, project_id)
        target = _valid_file_name(new_name)
        with self._mutating():
            found = project.file(_valid_file_name(name))
            if found is None:
                raise NotFoundError(f"File not found: {name}")
            if target != found.name and project.file(target) is not None:
                raise ConflictError(f"File '{target}' already exists in the project")
            now = utc_now()
            found.name, found.modified = target, now
            project.modified = now
            return found

    def delete_file(self, user: UserRecord, project_id: int, name: str) -> None:
        project = self._project(user, project_id)
        clean = _valid_file_name(name)
        with self._mutating():
            if project.file(clean) is None:
                raise NotFoundError(f"File not found: {name}")
            project.files = [f for f in project.files if f.name != clean]
            project.modified = utc_now()

    def patch_files(self, user: UserRecord, project_id: int, patch: str) -> None:
        project = self._project(user, project_id)
        require(bool(patch.strip()), "Patch is required")
        with self._mutating() as state:
            try:
                patched = apply_patch({f.name: f.content for f in project.files}, patch)
            except ValueError as exc:
                raise InvalidArgumentError(f"The patch does not apply: {exc}") from exc
            now = utc_now()
            project.files = self._replaced_files(state, project, patched, now)
            project.modified = now

    # ------------------------------------------------------------------------------------------
    # compile

    def create_compile(self, user: UserRecord, project_id: int) -> CompileRecord:
        project = self._project(user, project_id)
        files = {f.name: f.content for f in project.files}
        if project.language == "Py":
            report = check_project(files, extra_modules=self.extra_modules)
        else:
            raise UnsupportedRequestError("The qcloop emulator compiles Python projects only")
        compile_id = f"{new_hex()}-{report.signature or new_hex()}"
        header = (f"Build Request Successful for Project ID: {project.project_id}, with CompileID: {compile_id}, "
                  f"Lean Version: 2.5.0.0.{project.lean_version_id}")
        if report.ok:
            logs = [header, "Python syntax and imports checked: no errors.", "Build Success."]
        else:
            logs = [header, *report.logs, "Build Error."]
        record = CompileRecord(
            compile_id=compile_id, project_id=project.project_id, created=utc_now(),
            outcome=CompileState.BUILD_SUCCESS if report.ok else CompileState.BUILD_ERROR, logs=logs,
            files=files, detected_parameters=report.detected_parameters, signature=report.signature,
        )
        with self._mutating() as state:
            state.compiles.append(record)
        done = threading.Event()
        done.set()
        self._gates[compile_id] = Gate(self.compile_timing, self.clock, done)
        return record

    def read_compile(self, user: UserRecord, project_id: int, compile_id: str) -> CompileView:
        record = self._compile(self._project(user, project_id), compile_id)
        with self._lock:
            record.reads += 1
            reads = record.reads
        view = self._gate_view(record.compile_id, reads, 1.0)
        return CompileView(record, record.outcome if view.finished else CompileState.IN_QUEUE)

    # ------------------------------------------------------------------------------------------
    # the simulated person (operator.py) saves files as the web IDE does

    def put_file(self, project_id: int, name: str, content: str) -> FileRecord:
        """Create or overwrite a project file as the web IDE saves it (no user check: the operator
        acts as the project's owner inside the emulator)."""
        with self._lock:
            project = next((p for p in self._state.projects if p.project_id == project_id), None)
        if project is None:
            raise NotFoundError("Project not found")
        with self._mutating() as state:
            now = utc_now()
            found = project.file(name)
            if found is None:
                found = self._new_file(state, name, content, now)
                project.files.append(found)
            else:
                found.content, found.modified = content, now
            project.modified = now
            return found

    def find_project(self, reference: str) -> ProjectRecord:
        """A project by id or by exact name (the operator command accepts either)."""
        with self._lock:
            projects = list(self._state.projects)
        match = [p for p in projects if str(p.project_id) == reference.strip()] or \
            [p for p in projects if p.name == reference.strip().strip("/")]
        if not match:
            raise NotFoundError(f"No project with id or name '{reference}'")
        return match[0]
