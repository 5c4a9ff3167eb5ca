import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import {
  DocumentFilter,
  Executable,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  TransportKind,
} from 'vscode-languageclient/node';
import { decideLaunch, SettingSources } from './trust';

export { decideLaunch, isInside } from './trust';

export const CLIENT_ID = 'hipaaLsp';
export const CLIENT_NAME = 'HIPAA LSP';
const CONFIG_SECTION = 'hipaaLsp';
const INSTALL_HINT =
  'Install the server with `pip install hipaa-lsp`, or set `hipaaLsp.serverPath` in your User settings to the full path of the `hipaa-lsp` executable.';

/** Languages whose documents are sent to the server (scheme `file` and `untitled`). */
export const LANGUAGES = [
  'yaml',
  'json',
  'jsonc',
  'xml',
  'dockerfile',
  'dockercompose',
  'ini',
  'properties',
  'terraform',
];

/** File name patterns sent to the server whatever language VS Code gave them. */
export const PATTERNS = [
  '**/*.conf',
  '**/*.cnf',
  '**/pg_hba.conf',
  '**/*.service',
  '**/*.socket',
  '**/*.mount',
  '**/*.properties',
  '**/.htaccess',
  '**/web.config',
  '**/*.config',
  '**/Dockerfile*',
  '**/Containerfile',
  '**/*.tf',
];

let client: LanguageClient | undefined;
let output: vscode.OutputChannel | undefined;
/** The server runs here, not in the workspace: `python -m` would import modules from its cwd. */
let serverCwd: string | undefined;
/** Serialises start/stop/restart so that commands and setting changes cannot interleave. */
let pending: Promise<void> = Promise.resolve();

function settings(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(CONFIG_SECTION);
}

/** The plain-object form of the `hipaaLsp` settings, sent as initializationOptions. */
function settingsObject(): Record<string, unknown> {
  const cfg = settings();
  return {
    serverPath: cfg.get<string>('serverPath', 'hipaa-lsp'),
    serverArgs: cfg.get<string[]>('serverArgs', ['serve']),
    debounceMs: cfg.get<number>('debounceMs', 150),
    disabledRules: cfg.get<string[]>('disabledRules', []),
    severityOverrides: cfg.get<Record<string, string>>('severityOverrides', {}),
    maxFileSizeKb: cfg.get<number>('maxFileSizeKb', 2048),
    maxLineLengthKb: cfg.get<number>('maxLineLengthKb', 256),
    maxNestingDepth: cfg.get<number>('maxNestingDepth', 100),
    maxDocuments: cfg.get<number>('maxDocuments', 10000),
    maxNodes: cfg.get<number>('maxNodes', 1000000),
    analysisTimeoutMs: cfg.get<number>('analysisTimeoutMs', 10000),
    fileAssociations: cfg.get<Record<string, string>>('fileAssociations', {}),
    trace: { server: cfg.get<string>('trace.server', 'off') },
  };
}

export function documentSelector(fileAssociations: Record<string, string> = {}): DocumentFilter[] {
  const selector: DocumentFilter[] = [];
  for (const language of LANGUAGES) {
    selector.push({ scheme: 'file', language }, { scheme: 'untitled', language });
  }
  const patterns = new Set<string>(PATTERNS);
  for (const glob of Object.keys(fileAssociations)) {
    if (glob.trim()) {
      patterns.add(glob);
    }
  }
  for (const pattern of patterns) {
    selector.push({ scheme: 'file', pattern });
  }
  return selector;
}

function expandHome(p: string): string {
  if (p === '~' || p.startsWith('~/') || p.startsWith('~\\')) {
    const home = process.env.HOME ?? process.env.USERPROFILE ?? '';
    return path.join(home, p.slice(1));
  }
  return p;
}

function isExecutableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) {
      return false;
    }
    if (process.platform !== 'win32') {
      fs.accessSync(file, fs.constants.X_OK);
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves the configured server command to an executable file, looking bare names up on the
 * absolute PATH entries (with PATHEXT on Windows). Relative paths are not resolved (see trust.ts).
 * Returns undefined when nothing executable is found.
 */
export function resolveExecutable(command: string): string | undefined {
  const cmd = expandHome(command.trim());
  if (!cmd) {
    return undefined;
  }
  const exts =
    process.platform === 'win32'
      ? ['', ...(process.env.PATHEXT ?? '.EXE;.CMD;.BAT;.COM').split(';').filter(Boolean)]
      : [''];
  const candidates: string[] = [];
  if (path.isAbsolute(cmd)) {
    candidates.push(cmd);
  } else if (cmd.includes('/') || cmd.includes('\\')) {
    return undefined;
  } else {
    for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
      // A relative entry (`.`, `node_modules/.bin`) would find a program in the current folder.
      if (dir && path.isAbsolute(dir)) {
        candidates.push(path.join(dir, cmd));
      }
    }
  }
  for (const base of candidates) {
    for (const ext of exts) {
      if (isExecutableFile(base + ext)) {
        return base + ext;
      }
    }
  }
  return undefined;
}

function workspaceFolderPaths(): string[] {
  return (vscode.workspace.workspaceFolders ?? [])
    .filter((folder) => folder.uri.scheme === 'file')
    .map((folder) => folder.uri.fsPath);
}

function log(message: string): void {
  output?.appendLine(`[${new Date().toISOString()}] ${message}`);
}

async function showStartError(detail: string): Promise<void> {
  const message = `HIPAA LSP: could not start the language server (${detail}). ${INSTALL_HINT}`;
  log(message);
  const openSettings = 'Open Settings';
  const showOutput = 'Show Output';
  const choice = await vscode.window.showErrorMessage(message, openSettings, showOutput);
  if (choice === openSettings) {
    await vscode.commands.executeCommand('workbench.action.openSettings', 'hipaaLsp.serverPath');
  } else if (choice === showOutput) {
    output?.show(true);
  }
}

async function showRefusal(reason: string): Promise<void> {
  const message = `HIPAA LSP: the language server was not started: ${reason}.`;
  log(message);
  const openSettings = 'Open User Settings';
  const choice = await vscode.window.showErrorMessage(message, openSettings);
  if (choice === openSettings) {
    await vscode.commands.executeCommand('workbench.action.openSettings', 'hipaaLsp.serverPath');
  }
}

async function startClient(): Promise<void> {
  const cfg = settings();
  // Where each value came from decides whether it may name the program (see trust.ts).
  const decision = decideLaunch({
    serverPath: cfg.inspect?.('serverPath') as SettingSources<unknown> | undefined,
    serverArgs: cfg.inspect?.('serverArgs') as SettingSources<unknown> | undefined,
    workspaceFolders: workspaceFolderPaths(),
    resolve: resolveExecutable,
    realpath: (file) => fs.realpathSync(expandHome(file)),
  });
  for (const warning of decision.warnings) {
    log(warning);
    void vscode.window.showWarningMessage(`HIPAA LSP: ${warning}`);
  }
  if (!decision.ok) {
    if (decision.notFound) {
      void showStartError(decision.reason);
    } else {
      void showRefusal(decision.reason);
    }
    return;
  }
  const resolved = decision.command;
  const serverArgs = decision.args;
  log(`Starting ${resolved} ${serverArgs.join(' ')}`);

  const run: Executable = {
    command: resolved,
    args: serverArgs,
    transport: TransportKind.stdio,
    options: serverCwd ? { cwd: serverCwd } : undefined,
  };
  const serverOptions: ServerOptions = { run, debug: run };
  const clientOptions: LanguageClientOptions = {
    documentSelector: documentSelector(cfg.get<Record<string, string>>('fileAssociations', {})),
    initializationOptions: settingsObject(),
    synchronize: { configurationSection: CONFIG_SECTION },
    outputChannel: output,
    traceOutputChannel: output,
  };

  const newClient = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
  client = newClient;
  try {
    await newClient.start();
    log('Server started.');
  } catch (error) {
    if (client === newClient) {
      client = undefined;
    }
    try {
      await newClient.dispose(2000);
    } catch {
      // The process may never have started; nothing to clean up.
    }
    await showStartError(error instanceof Error ? error.message : String(error));
  }
}

async function stopClient(): Promise<void> {
  const old = client;
  client = undefined;
  if (!old) {
    return;
  }
  try {
    await old.dispose(2000);
  } catch (error) {
    log(`Error while stopping the server: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function enqueue(task: () => Promise<void>): Promise<void> {
  pending = pending.then(task, task);
  return pending;
}

export function restartServer(): Promise<void> {
  return enqueue(async () => {
    log('Restarting server.');
    await stopClient();
    await startClient();
  });
}

export function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel(CLIENT_NAME);
  serverCwd = context.extensionPath;
  context.subscriptions.push(
    output,
    vscode.commands.registerCommand('hipaaLsp.restartServer', () => restartServer()),
    vscode.commands.registerCommand('hipaaLsp.showOutput', () => output?.show(true)),
    vscode.workspace.onDidChangeConfiguration((event) => {
      // These change how the process is launched or which documents are sent; the rest reach the
      // running server through workspace/didChangeConfiguration.
      if (
        event.affectsConfiguration('hipaaLsp.serverPath') ||
        event.affectsConfiguration('hipaaLsp.serverArgs') ||
        event.affectsConfiguration('hipaaLsp.fileAssociations')
      ) {
        void restartServer();
      }
    }),
  );
  return enqueue(startClient);
}

export function deactivate(): Promise<void> {
  return enqueue(stopClient);
}
