#!/usr/bin/env bash
# Prints the longest C++ functions and source files outside tests/ and runtime/lab/, and exits 1
# when a function is over 120 lines or a file over 700 lines (the house's limits), so it serves as
# a check (ctest runs it as Layout.NoFunctionOver120LinesNoFileOver700).
#
#   scripts/longest.sh [N]     N: how many functions and files to list (default 15)
#
# Functions are found by brace matching after a signature, with comments, strings and preprocessor
# lines left out: good enough to rank the repository's functions by lines (from the first line of
# the signature to the closing brace). A function's lambdas count in the function that holds them.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 - "${1:-15}" <<'PY'
import os, re, signal, subprocess, sys

signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet when piped into head

MAX_FUNCTION, MAX_FILE = 120, 700
count = int(sys.argv[1])
EXCLUDED = ("tests/", "runtime/lab/", "build/")


def source_files():
    try:
        listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                                capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        listed = [os.path.relpath(os.path.join(d, f)) for d, _, fs in os.walk(".") for f in fs]
    return sorted(f for f in listed
                  if f.endswith((".cpp", ".hpp", ".h", ".cc")) and not f.startswith(EXCLUDED)
                  and os.path.isfile(f))


def code_only(text):
    """The text with comments, string and character literals and preprocessor lines blanked
    (newlines kept, so offsets still give line numbers)."""
    out, i, n = [], 0, len(text)
    at_line_start = True
    while i < n:
        c = text[i]
        if at_line_start and c == "#":
            j = i
            while j < n and (text[j] != "\n" or text[j - 1] == "\\"):
                j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
            continue
        if c == "\n":
            at_line_start = True
        elif not c.isspace():
            at_line_start = False
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "R" and text.startswith('R"', i) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            open_paren = text.find("(", i)
            delimiter = ")" + text[i + 2:open_paren] + '"'
            j = text.find(delimiter, open_paren)
            j = n if j < 0 else j + len(delimiter)
            out.append('""' + re.sub(r"[^\n]", " ", text[i + 2:j]))
            i = j
        elif c in "\"'":
            if c == "'" and i > 0 and text[i - 1].isalnum():  # digit separator: 1'000
                out.append(" ")
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (min(j, n) - i - 1) + (c if j < n else ""))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


CONTAINER = re.compile(r"\b(namespace|class|struct|union|enum)\b|\bextern\s*$")
NAME = re.compile(r"((?:[A-Za-z_~][\w]*\s*(?:<[^()]*>)?\s*::\s*)*(?:operator\s*[^\s(]+|~?[A-Za-z_]\w*))\s*$")


def top_level(head):
    """The head with everything inside parentheses and angle brackets removed."""
    depth, out = 0, []
    for c in head:
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif depth == 0:
            out.append(c)
    return "".join(out)


def function_name(head):
    """The name of the function a block head declares, or None when the head is no function."""
    flat = re.sub(r"^template\s*<[^{;]*?>\s*(?=[A-Za-z_])", "", " ".join(head.split()))
    outer = top_level(flat)
    if "(" not in flat or CONTAINER.search(outer):
        return None
    if re.search(r"\b(if|for|while|switch|catch|return)\b", outer):
        return None
    lambda_at = flat.rfind("](")
    if re.search(r"(?<![=!<>])=(?!=)", outer) and lambda_at < 0 and "operator" not in outer:
        return None  # an initialiser: x = {...}
    match = NAME.search(flat[:flat.find("(")])
    return match.group(1).replace(" ", "") if match else None


def functions(path):
    text = open(path, encoding="utf-8", errors="replace").read()
    code = code_only(text)
    line_of = [0] * (len(code) + 1)
    line = 1
    for i, c in enumerate(code):
        line_of[i] = line
        if c == "\n":
            line += 1
    line_of[len(code)] = line
    found = []
    stack = []         # per open brace: None, or (name, first line) for a function body
    head_start = 0     # where the current statement/declaration began
    in_function = 0
    i = 0
    while i < len(code):
        c = code[i]
        if c in ";":
            if not in_function:
                head_start = i + 1
        elif c == "{":
            name = None
            if not in_function:
                head = code[head_start:i]
                name = function_name(head)
                if name is None and re.search(r"\)\s*(?:const\s*)?(?:noexcept\s*)?:", head) \
                        and re.search(r"[\w>]\s*$", head):
                    # A member's brace initialiser in a constructor's initialiser list: skip it.
                    depth, j = 0, i
                    while j < len(code):
                        depth += {"{": 1, "}": -1}.get(code[j], 0)
                        if depth == 0:
                            break
                        j += 1
                    i = j + 1
                    continue
            if name:
                first = head_start + len(head) - len(head.lstrip())
                stack.append((name, line_of[first]))
                in_function += 1
            else:
                stack.append(None)
                if not in_function:
                    head_start = i + 1
        elif c == "}":
            if stack:
                top = stack.pop()
                if top:
                    in_function -= 1
                    found.append((top[1], line_of[i] - top[1] + 1, top[0]))
            if not in_function:
                head_start = i + 1
        i += 1
    return found


over = 0
all_functions, all_files = [], []
for path in source_files():
    with open(path, encoding="utf-8", errors="replace") as f:
        all_files.append((sum(1 for _ in f), path))
    for first, lines, name in functions(path):
        all_functions.append((lines, path, first, name))
all_functions.sort(key=lambda x: (-x[0], x[1], x[2]))
all_files.sort(key=lambda x: (-x[0], x[1]))

print(f"longest functions (limit {MAX_FUNCTION} lines), outside tests/ and runtime/lab/:")
for lines, path, first, name in all_functions[:count]:
    mark = "  OVER" if lines > MAX_FUNCTION else ""
    print(f"  {lines:5d}  {path}:{first} {name}{mark}")
print(f"longest files (limit {MAX_FILE} lines):")
for lines, path in all_files[:count]:
    mark = "  OVER" if lines > MAX_FILE else ""
    print(f"  {lines:5d}  {path}{mark}")
functions_over = [f for f in all_functions if f[0] > MAX_FUNCTION]
files_over = [f for f in all_files if f[0] > MAX_FILE]
for lines, path, first, name in functions_over[count:]:
    print(f"  {lines:5d}  {path}:{first} {name}  OVER")
if functions_over or files_over:
    print(f"{len(functions_over)} function(s) over {MAX_FUNCTION} lines, "
          f"{len(files_over)} file(s) over {MAX_FILE} lines")
    sys.exit(1)
print("every function and file is within the limits")
PY
