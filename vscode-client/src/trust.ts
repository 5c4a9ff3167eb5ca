// Which program the extension may start, decided without the `vscode` module so it can be unit-tested.
//
// A repository's `.vscode/settings.json` (or a `.code-workspace` file) can set any setting that is not
// machine-scoped, so opening an untrusted repository must never make us run a program it chose. Rules:
// - `serverPath` and `serverArgs` are only read from User settings (or their defaults); values from
//   workspace or folder settings are ignored, and the user is told so;
// - a relative path with a separator (`./bin/x`, `tools\x`) is refused: it would resolve inside
//   whichever folder is open;
// - a program that resolves (also through symlinks) to a file inside a workspace folder runs only if
//   the user set its path in User settings; the default name found on a PATH entry inside a workspace
//   folder (an activated virtualenv, `node_modules/.bin`) is refused.
import * as path from 'path';

/** The parts of `WorkspaceConfiguration.inspect()` that say where a value came from. */
export interface SettingSources<T> {
  defaultValue?: T;
  globalValue?: T;
  workspaceValue?: T;
  workspaceFolderValue?: T;
  defaultLanguageValue?: T;
  globalLanguageValue?: T;
  workspaceLanguageValue?: T;
  workspaceFolderLanguageValue?: T;
}

export interface LaunchInput {
  serverPath?: SettingSources<unknown>;
  serverArgs?: SettingSources<unknown>;
  /** File-system paths of the open workspace folders. */
  workspaceFolders: string[];
  /** Resolves a command (bare name on PATH, or absolute path) to an executable file, or undefined. */
  resolve: (command: string) => string | undefined;
  /** Follows symlinks; defaults to the identity. */
  realpath?: (file: string) => string;
  platform?: string;
}

export type LaunchDecision =
  | { ok: true; command: string; args: string[]; fromUser: boolean; warnings: string[] }
  | { ok: false; notFound: boolean; reason: string; warnings: string[] };

export const DEFAULT_SERVER_PATH = 'hipaa-lsp';
export const DEFAULT_SERVER_ARGS = ['serve'];

function workspaceProvided<T>(s: SettingSources<T> | undefined): boolean {
  return (
    s !== undefined &&
    (s.workspaceValue !== undefined ||
      s.workspaceFolderValue !== undefined ||
      s.workspaceLanguageValue !== undefined ||
      s.workspaceFolderLanguageValue !== undefined)
  );
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/** True when `file` is `folder` or inside it (case-insensitive on Windows and macOS). */
export function isInside(file: string, folder: string, platform: string = process.platform): boolean {
  const p = platform === 'win32' ? path.win32 : path.posix;
  const fold = platform === 'win32' || platform === 'darwin';
  const rel = fold ? p.relative(folder.toLowerCase(), file.toLowerCase()) : p.relative(folder, file);
  return rel === '' || (rel !== '..' && !rel.startsWith('..' + p.sep) && !p.isAbsolute(rel));
}

export function decideLaunch(input: LaunchInput): LaunchDecision {
  const platform = input.platform ?? process.platform;
  const p = platform === 'win32' ? path.win32 : path.posix;
  const warnings: string[] = [];
  for (const [name, sources] of [
    ['hipaaLsp.serverPath', input.serverPath],
    ['hipaaLsp.serverArgs', input.serverArgs],
  ] as const) {
    if (workspaceProvided(sources)) {
      warnings.push(
        `Ignored ${name} from this workspace's settings: a repository must not choose the program ` +
          'VS Code runs. Set it in your User settings instead.',
      );
    }
  }

  const userPath = input.serverPath?.globalValue;
  const fromUser = typeof userPath === 'string' && userPath.trim() !== '';
  const defaultPath = input.serverPath?.defaultValue;
  const command = (
    fromUser ? (userPath as string) : typeof defaultPath === 'string' && defaultPath.trim() ? defaultPath : DEFAULT_SERVER_PATH
  ).trim();
  const userArgs = input.serverArgs?.globalValue;
  const defaultArgs = input.serverArgs?.defaultValue;
  const args = isStringArray(userArgs) ? userArgs : isStringArray(defaultArgs) ? defaultArgs : DEFAULT_SERVER_ARGS;

  // `~/...` is expanded by `resolve`; any other relative path with a separator is refused.
  const hasSeparator = command.includes('/') || (platform === 'win32' && command.includes('\\'));
  if (hasSeparator && !p.isAbsolute(command) && !command.startsWith('~')) {
    return {
      ok: false,
      notFound: false,
      warnings,
      reason:
        `hipaaLsp.serverPath "${command}" is a relative path, which would run a program from whichever ` +
        'folder is open. Use an absolute path or a command name on PATH.',
    };
  }

  const resolved = input.resolve(command);
  if (!resolved) {
    return { ok: false, notFound: true, warnings, reason: `executable "${command}" not found` };
  }
  const real = input.realpath ? safeRealpath(input.realpath, resolved) : resolved;
  for (const folder of input.workspaceFolders) {
    const realFolder = input.realpath ? safeRealpath(input.realpath, folder) : folder;
    const inside =
      isInside(p.resolve(resolved), folder, platform) ||
      isInside(p.resolve(real), folder, platform) ||
      isInside(p.resolve(real), realFolder, platform);
    if (inside && !fromUser) {
      return {
        ok: false,
        notFound: false,
        warnings,
        reason:
          `"${command}" resolves to ${real}, inside the workspace folder ${folder}. HIPAA LSP does not ` +
          'run a program from an opened folder unless you set its full path in hipaaLsp.serverPath in ' +
          'your User settings',
      };
    }
  }
  return { ok: true, command: resolved, args, fromUser, warnings };
}

function safeRealpath(realpath: (file: string) => string, file: string): string {
  try {
    return realpath(file);
  } catch {
    return file;
  }
}
