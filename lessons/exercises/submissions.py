"""What a class hands in: find the files, name each student, read each file once.

    find_submissions(["submissions/"])                      # every .py and .ipynb inside
    find_submissions(["submissions/"], id_from="parent-folder")

Every submission is read into memory before any student code runs, so a submission that
rewrites its classmates' files later changes nothing. A notebook becomes the Python of its
code cells (shell and magic lines skipped, with a note); a file that cannot be read keeps a
sentence saying why, and is graded 0 of its assignment's points.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

GRADED_SUFFIXES = (".py", ".ipynb")
ID_FROM = ("path", "parent-folder")
MAX_BYTES = 5_000_000  # a submission larger than this is not homework
SKIPPED_FOLDERS = {"__pycache__", ".ipynb_checkpoints", "__MACOSX"}

# A notebook line that is not Python: a shell escape (!ls), a magic (%matplotlib), or the
# result of one assigned to a name (files = !ls).
NOT_PYTHON = re.compile(r"^\s*([!%]|\w+\s*=\s*[!%])")
# Cell magics whose body is still Python (only the magic line is skipped).
PYTHON_CELL_MAGICS = ("%%time", "%%timeit", "%%capture", "%%prun")
CELL_LINE = re.compile(r"line (\d+) of your file|\(line (\d+)\)")


@dataclass
class Submission:
    """One file of one student: the text to grade (Python), or why there is none."""

    student: str  # the student's id: the path inside the folder given, or its parent folder
    file: str  # the file as found (what --resume and the report's "file" column use)
    text: str | None = None  # the Python to grade (a notebook's code cells, joined)
    problem: str = ""  # why it cannot be graded (unreadable, not Python, not a notebook)
    notes: list[str] = field(default_factory=list)  # said in its feedback (skipped lines)
    cells: list[tuple[int, int]] = field(default_factory=list)  # notebook: (first line, cell)
    inode: tuple[int, int] | None = None  # (device, inode) read: two names of one file

    @property
    def is_notebook(self) -> bool:
        return self.file.endswith(".ipynb")

    def where(self, message: str) -> str:
        """A message's "line N of your file", said as the notebook's cell and line."""
        if not self.cells:
            return message

        def in_cell(match: re.Match) -> str:
            line = int(match.group(1) or match.group(2))
            first, cell = max(((f, c) for f, c in self.cells if f <= line),
                              default=(1, 1))
            where = f"line {line - first + 1} of code cell {cell}"
            return f"{where} of your notebook" if match.group(1) else f"({where})"

        return CELL_LINE.sub(in_cell, message)


def find_submissions(given: list[str], id_from: str = "path") -> tuple[list[Submission],
                                                                      list[str]]:
    """The submissions named on the command line, and the files skipped in folders.

    A FILE is one submission (its id: the path as given). A folder is searched recursively
    for .py and .ipynb files (hidden folders, __pycache__ and checkpoints skipped); each
    one's id is its path inside the folder, or with ``id_from="parent-folder"`` the folder
    that holds it. A name that is neither a file nor a folder raises ValueError.
    """
    if id_from not in ID_FROM:
        raise ValueError(f"--id-from must be one of {', '.join(ID_FROM)}, got {id_from!r}")
    found: list[Submission] = []
    skipped: list[str] = []
    for name in given:
        path = Path(name)
        if path.is_dir():
            inside, others = _walk(path)
            if not inside and not others:
                raise ValueError(f"the folder {name!r} is empty")
            students: dict[str, list[Path]] = {}
            for file in inside + others:
                students.setdefault(_student(file, path, id_from), []).append(file)
            for student, files in students.items():
                graded = [f for f in files if f.suffix.lower() in GRADED_SUFFIXES]
                if graded:
                    found += [read_submission(f, student) for f in graded]
                    skipped += [str(f) for f in files if f not in graded]
                elif not inside or (id_from == "parent-folder" and "/" in
                                    files[0].relative_to(path).as_posix()):
                    found.append(_nothing_gradable(files, student))
                else:  # a stray file beside the submissions (a README, a data file)
                    skipped += [str(f) for f in files]
        elif path.is_file() or path.is_symlink():
            found.append(read_submission(path, str(path)))
        else:
            raise ValueError(f"no such file or folder: {name!r}")
    seen: set[str] = set()
    unique = []
    for submission in found:  # a file named twice (a folder and its file) is graded once
        if submission.file not in seen:
            seen.add(submission.file)
            unique.append(submission)
    _say_hard_links(unique)
    return unique, skipped


def _say_hard_links(submissions: list[Submission]) -> None:
    """Two students' names for one file on disk (a hard link made on a shared drive): both
    are graded, and each one's feedback names the other, for the instructor to look at."""
    same: dict[tuple[int, int], list[Submission]] = {}
    for submission in submissions:
        if submission.inode is not None:
            same.setdefault(submission.inode, []).append(submission)
    for group in same.values():
        for submission in group if len(group) > 1 else ():
            others = ", ".join(o.file for o in group if o is not submission)
            submission.notes.append(f"this file is the same file on disk as {others} "
                                    "(a hard link): both were graded.")


def _nothing_gradable(files: list[Path], student: str) -> Submission:
    names = ", ".join(f.name for f in files[:5]) + (" ..." if len(files) > 5 else "")
    return Submission(student=student, file=str(files[0]),
                      problem=(f"none of the files handed in is a Python file (.py) or a "
                               f"notebook (.ipynb): {names}. Nothing could be graded."))


def _walk(folder: Path) -> tuple[list[Path], list[Path]]:
    """(the .py and .ipynb files, the other files) under folder, sorted; hidden skipped.

    Symlinked folders are not followed (a loop, or a way out of the folder given)."""
    graded, others = [], []
    for root, folders, files in os.walk(folder):
        folders[:] = sorted(f for f in folders
                            if not f.startswith(".") and f not in SKIPPED_FOLDERS)
        for name in sorted(files):
            if name.startswith(".") or name.endswith((".pyc", "~")):
                continue
            path = Path(root) / name
            (graded if path.suffix.lower() in GRADED_SUFFIXES else others).append(path)
    return graded, others


def _student(file: Path, folder: Path, id_from: str) -> str:
    relative = file.relative_to(folder)
    if id_from == "parent-folder" and len(relative.parts) > 1:
        return relative.parent.as_posix()
    return relative.as_posix()


def read_submission(path: Path, student: str) -> Submission:
    """Read one file now (bounded), as Python: a .py file's text, a notebook's code cells."""
    submission = Submission(student=student, file=str(path))
    suffix = path.suffix.lower()
    if suffix not in GRADED_SUFFIXES:
        submission.problem = (f"{path.name} is not a Python file (.py) nor a notebook "
                              "(.ipynb): nothing in it could be graded.")
        return submission
    try:
        data, submission.inode = _read_bytes(path)
    except OSError as error:
        submission.problem = (f"the grader could not read {path.name}: "
                              f"{error.strerror or error}.")
        return submission
    except ValueError as error:
        submission.problem = str(error)
        return submission
    if suffix == ".ipynb":
        _read_notebook(submission, data, path.name)
    else:
        _read_python(submission, data, path.name)
    return submission


def _read_bytes(path: Path) -> tuple[bytes, tuple[int, int]]:
    if path.is_symlink():
        raise ValueError(f"{path.name} is a symbolic link, not a file handed in: it was not "
                         "graded.")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    descriptor = os.open(path, flags)  # O_NONBLOCK: a FIFO must not hang the grader
    with os.fdopen(descriptor, "rb") as f:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise ValueError(f"{path.name} is not a regular file: it was not graded.")
        data = f.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ValueError(f"{path.name} is larger than {MAX_BYTES // 1_000_000} MB: it was not "
                         "graded (is it the right file?).")
    return data, (status.st_dev, status.st_ino)


def _read_python(submission: Submission, data: bytes, name: str) -> None:
    """A .py file's text: UTF-8 (with or without a BOM), or UTF-16 with its BOM."""
    for encoding in ("utf-8-sig", "utf-16"):
        if encoding == "utf-16" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        try:
            submission.text = data.decode(encoding)
            if "\x00" in submission.text:
                break
            return
        except UnicodeDecodeError:
            continue
    submission.text = None
    submission.problem = (f"{name} is not text Python can read (save it as UTF-8): "
                          "nothing in it could be graded.")


def _read_notebook(submission: Submission, data: bytes, name: str) -> None:
    """A notebook's code cells joined into one Python file; shell and magic lines skipped."""
    import nbformat

    try:
        notebook = nbformat.reads(data.decode("utf-8-sig"), as_version=4)
    except Exception as error:  # noqa: BLE001 (whatever a student's file makes nbformat raise,
        # a RecursionError for one nested 100,000 deep: that file is unreadable, not the run)
        submission.problem = (f"{name} is not a notebook Jupyter can open "
                              f"({type(error).__name__}): nothing in it could be graded.")
        return
    lines: list[str] = []
    skipped: list[str] = []
    number = 0
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        number += 1
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        submission.cells.append((len(lines) + 1, number))
        body = source.splitlines()
        if body and body[0].lstrip().startswith("%%"):
            magic = body[0].strip()
            skipped.append(magic)
            if not magic.startswith(PYTHON_CELL_MAGICS):  # %%bash, %%html: not Python
                skipped += body[1:2] and ["(the rest of that cell)"]
                body = [""] * len(body)
            else:
                body = [""] + body[1:]
        for line in body:
            if NOT_PYTHON.match(line):
                skipped.append(line.strip())
                indent = line[:len(line) - len(line.lstrip())]
                lines.append(f"{indent}pass  # skipped by the grader: not Python")
            else:
                lines.append(line)
        lines.append("")
    submission.text = "\n".join(lines) + "\n"
    if skipped:
        shown = ", ".join(f"`{s[:40]}`" for s in skipped[:5])
        more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        submission.notes.append(
            f"The grader skipped {len(skipped)} line{'s' if len(skipped) != 1 else ''} of "
            f"your notebook that are shell commands or IPython magics, not Python: "
            f"{shown}{more}.")


def safe_name(student: str) -> str:
    """A student id as one file name: letters, digits, '.', '-' and '_' only."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", student.replace("/", "__")).strip("._")
    return name or "student"


def distinct_names(students: list[str]) -> dict[str, str]:
    """Student id -> a file name of its own (two ids never share one)."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for student in students:
        if student in names:
            continue
        base = safe_name(student)
        name, n = base, 2
        while name.lower() in taken:
            name, n = f"{base}-{n}", n + 1
        taken.add(name.lower())
        names[student] = name
    return names
