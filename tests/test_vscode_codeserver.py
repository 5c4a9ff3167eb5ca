"""hipaa-lsp in the real VS Code: code-server with our packaged extension, looked at in Chromium.

The test installs vscode-client/hipaa-lsp-<version>.vsix into a fresh extensions folder, points
`hipaaLsp.serverPath` at this virtual environment's `hipaa-lsp`, starts code-server on 127.0.0.1 with
a workspace holding a misconfigured redis.conf, and drives Debian's headless Chromium with
playwright-core (tests/editors/codeserver_driver.js): the file opens, the squiggle appears under
`no` in `protected-mode no`, the Problems panel (Ctrl+Shift+M) lists REDIS-NET-001, the status bar
counts the errors, and hovering the squiggle shows the HIPAA citation. A screenshot goes to the
test's tmp folder (and to docs/vscode-screenshot.png with HIPAA_LSP_SCREENSHOT=1).

Skipped unless the tools are installed by `bash tests/editors/codeserver_setup.sh` (in
$HIPAA_LSP_TOOLS, default /opt/hipaa-lsp-tools) and the extension is packaged (`make vsix`).
Every process the test starts runs in its own process group and is killed at the end, pass or fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOLS = Path(os.environ.get("HIPAA_LSP_TOOLS", "/opt/hipaa-lsp-tools"))
CODE_SERVER = TOOLS / "code-server" / "node_modules" / ".bin" / "code-server"
PLAYWRIGHT_CORE = TOOLS / "playwright" / "node_modules" / "playwright-core"
CHROMIUM = Path("/usr/bin/chromium")
DRIVER = ROOT / "tests" / "editors" / "codeserver_driver.js"
SETUP_HINT = "run `bash tests/editors/codeserver_setup.sh`"
TEXT = "bind 127.0.0.1\nprotected-mode no\n"
UI_TIMEOUT_S = 90        # the driver's bound for everything it does in the browser
START_TIMEOUT_S = 60     # code-server listening and healthy
INSTALL_TIMEOUT_S = 120  # code-server --install-extension


def _vsix() -> Path:
    version = json.loads((ROOT / "vscode-client" / "package.json").read_text())["version"]
    return ROOT / "vscode-client" / f"hipaa-lsp-{version}.vsix"


def _server() -> Path:
    """The hipaa-lsp of the virtual environment running the tests (absolute, not resolved)."""
    here = Path(sys.executable).parent / "hipaa-lsp"
    return here if here.is_file() else ROOT / ".venv" / "bin" / "hipaa-lsp"


def _skip_reason() -> str | None:
    if not sys.platform.startswith("linux"):
        return "the code-server test runs on Linux only"
    if shutil.which("node") is None:
        return "node is not installed"
    # The setup script writes .installed only when an install completed.
    if not CODE_SERVER.is_file() or not (TOOLS / "code-server" / ".installed").is_file():
        return f"code-server not installed at {CODE_SERVER} ({SETUP_HINT})"
    if not (PLAYWRIGHT_CORE / "package.json").is_file() or not (TOOLS / "playwright" / ".installed").is_file():
        return f"playwright-core not installed at {PLAYWRIGHT_CORE} ({SETUP_HINT})"
    if not os.access(CHROMIUM, os.X_OK):
        return f"Debian chromium not installed at {CHROMIUM} ({SETUP_HINT})"
    if not _vsix().is_file():
        return f"{_vsix().relative_to(ROOT)} not built (run `make vsix`)"
    if not _server().is_file():
        return f"hipaa-lsp executable not found at {_server()}"
    return None


pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")


# ---- processes: each in its own group, all killed at the end --------------------------------------

def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'.
        fields = stat[stat.rfind(")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def _descendants(pid: int) -> list[int]:
    children = _children_map()
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rfind(")") + 2:].split()[0] != "Z"


class Processes:
    """Starts processes in new sessions (process groups) and kills every one of them, with all
    their descendants, however the test ends."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def start(self, cmd: list[str], **kwargs) -> subprocess.Popen:
        proc = subprocess.Popen(cmd, start_new_session=True, stdin=subprocess.DEVNULL, **kwargs)
        self.procs.append(proc)
        return proc

    def run(self, cmd: list[str], timeout: float, **kwargs) -> tuple[int, str]:
        """Runs to completion, bounded; the whole group is killed on time-out."""
        proc = self.start(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._kill(proc)
            out, _ = proc.communicate()
            pytest.fail(f"timed out after {timeout}s: {' '.join(map(str, cmd))}\n{out}")
        return proc.returncode, out

    def _signal(self, proc: subprocess.Popen, pids: list[int], sig: int) -> None:
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        for pid in pids:
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass

    def _kill(self, proc: subprocess.Popen, grace: float = 10.0) -> list[int]:
        pids = [proc.pid, *_descendants(proc.pid)]
        self._signal(proc, pids, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            proc.poll()
            if not any(_alive(pid) for pid in pids):
                break
            time.sleep(0.1)
        else:
            pids = [pid for pid in pids if _alive(pid)] + _descendants(proc.pid)
            self._signal(proc, pids, signal.SIGKILL)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            time.sleep(0.5)
        return [pid for pid in pids if _alive(pid)]

    def kill_all(self) -> list[int]:
        survivors: list[int] = []
        for proc in reversed(self.procs):
            survivors += self._kill(proc)
        return survivors


@pytest.fixture
def processes():
    procs = Processes()
    try:
        yield procs
    finally:
        survivors = procs.kill_all()
    assert not survivors, f"processes still alive after SIGKILL: {survivors}"


# ---- helpers --------------------------------------------------------------------------------------

def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as error:
        return f"({path}: {error})"


def _logs(user_data: Path, server_log: Path) -> str:
    parts = [f"---- code-server log ({server_log}) ----", _tail(server_log)]
    for log in sorted((user_data / "logs").glob("*/**/*.log")):
        if log.name in {"remoteexthost.log", "remoteagent.log"} or "HIPAA LSP" in log.name:
            parts += [f"---- {log.relative_to(user_data)} ----", _tail(log, 30)]
    return "\n".join(parts)


def _wait_listening(proc: subprocess.Popen, log: Path, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = re.search(r"HTTP server listening on http://127\.0\.0\.1:(\d+)/", log.read_text(errors="replace"))
        if match:
            return int(match.group(1))
        if proc.poll() is not None:
            pytest.fail(f"code-server exited with {proc.returncode} before listening:\n{_tail(log)}")
        time.sleep(0.2)
    pytest.fail(f"code-server did not listen within {timeout}s:\n{_tail(log)}")


def _wait_healthy(port: int, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"code-server exited with {proc.returncode}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except OSError as error:
            last = str(error)
        time.sleep(0.2)
    pytest.fail(f"code-server on 127.0.0.1:{port} not healthy within {timeout}s ({last}):\n{_tail(log)}")


def _short(result: dict) -> str:
    brief = {k: v for k, v in result.items() if k not in {"hover_text", "problems_text", "page_text"}}
    brief["hover_text"] = (result.get("hover_text") or "")[:600]
    brief["page_text"] = (result.get("page_text") or "")[:1500]
    return json.dumps(brief, indent=1, ensure_ascii=False)


# ---- the test -------------------------------------------------------------------------------------

def test_vscode_shows_diagnostic(tmp_path: Path, processes: Processes):
    home, extensions, user_data, workspace, profile = (
        tmp_path / name for name in ("home", "extensions", "user-data", "workspace", "chromium-profile"))
    for folder in (home, extensions, user_data / "User", workspace, profile):
        folder.mkdir(parents=True)
    (workspace / "redis.conf").write_text(TEXT)
    server = _server()

    # A private HOME and no inherited VS Code variables: with VSCODE_IPC_HOOK_CLI set (a VS Code
    # terminal), `code-server --install-extension` would talk to that other instance instead.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("VSCODE_", "CODE_SERVER_")) and k not in {"PASSWORD", "HASHED_PASSWORD"}}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local/share"),
               XDG_CACHE_HOME=str(home / ".cache"))
    common = [str(CODE_SERVER), "--extensions-dir", str(extensions), "--user-data-dir", str(user_data),
              "--config", str(tmp_path / "code-server.yaml")]

    code, out = processes.run([*common, "--install-extension", str(_vsix())], timeout=INSTALL_TIMEOUT_S,
                              env=env, cwd=tmp_path)
    assert code == 0 and "successfully installed" in out, f"--install-extension failed ({code}):\n{out}"
    assert list(extensions.glob("hipaa-lsp.hipaa-lsp-*/package.json")), f"extension not in {extensions}:\n{out}"

    (user_data / "User" / "settings.json").write_text(json.dumps({
        "hipaaLsp.serverPath": str(server),
        "hipaaLsp.debounceMs": 0,
        "security.workspace.trust.enabled": False,
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": False,
        "workbench.enableExperiments": False,
        "telemetry.telemetryLevel": "off",
        "update.mode": "none",
        "extensions.autoUpdate": False,
        "extensions.autoCheckUpdates": False,
        "extensions.ignoreRecommendations": True,
        "git.enabled": False,
    }, indent=2))

    server_log = tmp_path / "code-server.log"
    with server_log.open("w") as log_file:
        # Port 0: the kernel picks a free port and code-server prints it, so there is no race.
        cs = processes.start([*common, "--bind-addr", "127.0.0.1:0", "--auth", "none",
                              "--disable-telemetry", "--disable-update-check", "--disable-workspace-trust",
                              "--disable-getting-started-override", str(workspace)],
                             env=env, cwd=tmp_path, stdout=log_file, stderr=subprocess.STDOUT)
    port = _wait_listening(cs, server_log, START_TIMEOUT_S)
    _wait_healthy(port, cs, server_log, START_TIMEOUT_S)

    screenshot = tmp_path / "vscode-screenshot.png"
    result_file = tmp_path / "driver-result.json"
    driver_env = dict(env, PLAYWRIGHT_CORE=str(PLAYWRIGHT_CORE), CHROMIUM=str(CHROMIUM),
                      CHROMIUM_PROFILE=str(profile), CODE_SERVER_URL=f"http://127.0.0.1:{port}/",
                      WORKSPACE=str(workspace), FILE_NAME="redis.conf", EXPECT_CODE="REDIS-NET-001",
                      TARGET_LINE_TEXT="protected-mode no", TARGET_TEXT="no",
                      SCREENSHOT=str(screenshot), RESULT=str(result_file),
                      TIMEOUT_MS=str(UI_TIMEOUT_S * 1000))
    started = time.monotonic()
    code, out = processes.run(["node", str(DRIVER)], timeout=UI_TIMEOUT_S + 60, env=driver_env, cwd=tmp_path)
    elapsed = time.monotonic() - started
    result = json.loads(result_file.read_text()) if result_file.is_file() else {}
    details = (f"driver exit {code} after {elapsed:.1f}s\n---- driver output ----\n{out}\n"
               f"---- driver result ----\n{_short(result)}\n{_logs(user_data, server_log)}")
    assert code == 0 and result.get("ok") is True, f"VS Code did not show the diagnostic\n{details}"

    # The squiggle under `no` in `protected-mode no`.
    assert re.search(r"\bsquiggly-(error|warning)\b", result["squiggle_class"]), details
    # The Problems panel lists REDIS-NET-001 at line 2, column 16, with its message and source.
    rows = [row["text"] for row in result["problems_rows"] if "REDIS-NET-001" in row["text"]]
    assert rows, details
    assert "protected-mode is 'no'" in rows[0] and "hipaa-lsp" in rows[0] and "[Ln 2, Col 16]" in rows[0], details
    # The status bar counts it.
    assert re.search(r"Errors: [1-9]", result["status_bar"]), details
    # Hovering the squiggle shows the rule with its HIPAA citation.
    assert "REDIS-NET-001" in result.get("hover_text", ""), details
    assert "45 CFR § 164.312(a)(1) Access control (Required)" in result["hover_text"], details
    assert screenshot.is_file() and screenshot.stat().st_size > 10_000, details

    if os.environ.get("HIPAA_LSP_SCREENSHOT") == "1":
        shutil.copyfile(screenshot, ROOT / "docs" / "vscode-screenshot.png")
