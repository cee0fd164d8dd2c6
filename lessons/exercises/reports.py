"""The grader's outputs: the CSV report, the feedback files, the per-student totals.

Every output is written by the parent only, from what it holds in memory, each time a
file is graded, and atomically (a whole new file, then a rename): an interrupted run keeps
every file graded so far, and ``--resume`` reads the report back to skip them. Nothing is
written through a symbolic link.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .grader import Result

COLUMNS = ["student", "file", "exercise", "result", "points", "max_points", "message",
           "picture"]
TEXT_COLUMNS = ("student", "file", "exercise", "message", "picture")  # escaped: _cell
TOTAL = "(total)"  # the exercise column of a student's total row


@dataclass
class Graded:
    """One graded file: whose it is, its results in the assignment's order, its notes."""

    student: str
    file: str
    results: list[Result]
    notes: list[str] = field(default_factory=list)

    @property
    def points(self) -> float:
        return sum(r.points for r in self.results)

    @property
    def max_points(self) -> float:
        return sum(r.max_points for r in self.results)

    def counts(self) -> dict[str, int]:
        counts = {"pass": 0, "fail": 0, "error": 0}
        for r in self.results:
            counts[r.result] = counts.get(r.result, 0) + 1
        return counts


@dataclass
class Student:
    """A student's files and total."""

    student: str
    files: list[Graded]

    @property
    def points(self) -> float:
        return sum(g.points for g in self.files)

    @property
    def max_points(self) -> float:
        return sum(g.max_points for g in self.files)

    def counts(self) -> dict[str, int]:
        counts = {"pass": 0, "fail": 0, "error": 0}
        for g in self.files:
            for key, value in g.counts().items():
                counts[key] = counts.get(key, 0) + value
        return counts


def by_student(graded: Iterable[Graded]) -> list[Student]:
    """The graded files grouped by student, in the order students first appear."""
    students: dict[str, Student] = {}
    for g in graded:
        students.setdefault(g.student, Student(g.student, [])).files.append(g)
    return list(students.values())


# ------------------------------------------------------------------ writing safely


def write_atomically(path: str | os.PathLike, text: str | bytes) -> None:
    """Replace ``path`` by a file holding ``text`` (or bytes), all at once (a reader sees the old
    file or the new one, never half); never writes through a symbolic link."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        os.unlink(temporary)  # a leftover of an earlier, killed run of this process id
    except FileNotFoundError:
        pass
    descriptor = os.open(temporary, flags, 0o644)
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(text.encode("utf-8") if isinstance(text, str) else text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)  # replaces a symlink itself, never its target
    except BaseException:
        with _ignored():
            os.unlink(temporary)
        raise


class _ignored:
    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        return kind is not None and issubclass(kind, OSError)


def private_folder(root: str | os.PathLike, name: str) -> Path:
    """``root/name`` as a real folder of ours: a symlink found at ``name`` is removed first,
    so nothing copied into it can land elsewhere."""
    folder = real_folder(root) / name
    if folder.is_symlink():
        folder.unlink()
    folder.mkdir(exist_ok=True)
    if folder.is_symlink() or not folder.is_dir():
        raise OSError(f"{str(folder)!r} is not a folder")
    return folder


def real_folder(folder: str | os.PathLike) -> Path:
    """The folder the user named (made if missing), resolved once: a symlink the user put
    there is theirs to keep, and what is written below it is checked by name."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    folder = folder.resolve()
    if not folder.is_dir():
        raise OSError(f"{str(folder)!r} is not a folder")
    return folder


# ------------------------------------------------------------------ the CSV report


class Report:
    """The CSV report: one row per file and exercise, and one total row per student.

    Held in memory and written whole after each file (``add``); ``resume`` reads an earlier
    report back so its files are not graded again.
    """

    def __init__(self, path: str | os.PathLike | None, resume: bool = False) -> None:
        self.path = Path(path) if path else None
        self.graded: dict[str, Graded] = {}  # file -> its results
        self.order: dict[str, int] = {}  # file -> its place in the report (else: the end)
        if resume and self.path is not None and self.path.exists():
            for g in read_report(self.path):
                self.graded[g.file] = g

    def done(self, file: str) -> bool:
        return file in self.graded

    def add(self, graded: Graded) -> None:
        self.graded[graded.file] = graded
        self.write()

    def write(self) -> None:
        if self.path is not None:
            files = sorted(self.graded.values(),
                           key=lambda g: self.order.get(g.file, len(self.order)))
            write_atomically(self.path, csv_text(files))


def csv_text(graded: Iterable[Graded]) -> str:
    """The report's text: each student's rows, then that student's total row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for student in by_student(graded):
        for g in student.files:
            for r in g.results:
                writer.writerow([_cell(g.student), _cell(g.file), _cell(r.exercise),
                                 r.result, f"{r.points:g}", f"{r.max_points:g}",
                                 _cell(_one_line(r.message)), _cell(r.picture)])
        counts = student.counts()
        writer.writerow([_cell(student.student), "", TOTAL,
                         f"{counts['pass']} passed, {counts['fail']} failed, "
                         f"{counts['error']} errors",
                         f"{student.points:g}", f"{student.max_points:g}", "", ""])
    return out.getvalue()


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


def _cell(text: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (a student names their
    file ``=HYPERLINK(...)``): a leading ' (one more when it already starts with ')."""
    text = str(text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _uncell(text: str) -> str:
    return text[1:] if text.startswith("'") else text


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def read_report(path: str | os.PathLike) -> list[Graded]:
    """The files an earlier report holds (total rows are recomputed, not read)."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise ValueError(f"cannot resume from {str(path)!r}: {error}") from None
    if rows and set(COLUMNS) - set(rows[0]):
        raise ValueError(f"cannot resume from {str(path)!r}: it is not a chaingrad report "
                         f"(its columns are not {', '.join(COLUMNS)})")
    graded: dict[str, Graded] = {}
    for row in rows:
        row = {key: _uncell(value) if key in TEXT_COLUMNS and isinstance(value, str) else value
               for key, value in row.items()}
        if row["exercise"] == TOTAL or not row["file"]:
            continue
        try:
            result = Result(file=row["file"], exercise=row["exercise"], result=row["result"],
                            points=float(row["points"]), max_points=float(row["max_points"]),
                            message=row["message"], picture=row["picture"])
        except (TypeError, ValueError):
            raise ValueError(f"cannot resume from {str(path)!r}: the row of "
                             f"{row['file']!r}, {row['exercise']!r} is damaged") from None
        graded.setdefault(row["file"], Graded(row["student"], row["file"], [])) \
            .results.append(result)
    return list(graded.values())


# ------------------------------------------------------------------ feedback files


def feedback_markdown(student: Student, pictures: dict[str, str]) -> str:
    """One student's feedback: every exercise's result, sentence, picture and printout.

    ``pictures`` maps a picture's path (as in the results) to its link from the file."""
    lines = [f"# Feedback for {_text(student.student)}", "",
             f"**{student.points:g} of {student.max_points:g} points**", ""]
    for g in student.files:
        if len(student.files) > 1:
            lines += [f"## {_text(g.file)}: {g.points:g} of {g.max_points:g} points", ""]
        for note in g.notes:
            lines += [f"> {_text(note)}", ""]
        lines += ["| exercise | result | points |", "|---|---|---|"]
        for r in g.results:
            lines.append(f"| {_text(r.exercise)} | {r.result} | "
                         f"{r.points:g} of {r.max_points:g} |")
        lines.append("")
        level = "###" if len(student.files) > 1 else "##"
        for r in g.results:
            lines += [f"{level} {_text(r.exercise)}: {r.result}", ""]
            if r.message:
                lines += [_text(r.message), ""]
            if r.picture in pictures:
                lines += [f"![the graph of {_text(r.exercise)}, wrong gradients in red]"
                          f"({pictures[r.picture]})", ""]
            if r.output and r.output.strip() and r.result != "pass":
                fence = "`" * max(3, _longest_backticks(r.output) + 1)
                lines += ["Your code printed:", "", f"{fence}text", r.output.rstrip(), fence,
                          ""]
    return "\n".join(lines)


def _text(text: str) -> str:
    """Text a student's code may have shaped, made inert in Markdown (no HTML, no links,
    and on one line: no heading or result line of its own)."""
    text = " ".join(str(text).splitlines())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`*_\[\]|#])", r"\\\1", text)


def _longest_backticks(text: str) -> int:
    return max((len(m) for m in re.findall(r"`+", text)), default=0)


def write_feedback(folder: str | os.PathLike, student: Student, name: str) -> dict[str, str]:
    """``folder/<name>.md`` for one student, with the pictures copied into
    ``folder/<name>/`` (never through a symlink). Returns picture -> its copy."""
    folder = real_folder(folder)
    copies: dict[str, str] = {}
    pictures = [r.picture for g in student.files for r in g.results
                if r.picture and not r.picture.startswith("(")]
    if pictures:
        own = private_folder(folder, name)
        for picture in pictures:
            source = Path(picture)
            if source.is_symlink() or not source.is_file():
                continue
            target = own / source.name
            if source.resolve() != target.resolve():
                write_atomically(target, source.read_bytes())
            copies[picture] = str(target)
    links = {picture: f"{name}/{Path(copy).name}" for picture, copy in copies.items()}
    write_atomically(folder / f"{name}.md", feedback_markdown(student, links))
    return copies
