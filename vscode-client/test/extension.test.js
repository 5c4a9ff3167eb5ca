// Offline checks that the extension manifest is complete and that the compiled bundle loads.
// Run `npm run compile` first: these tests fail when out/extension.js is missing.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');

const root = path.resolve(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const bundle = path.resolve(root, pkg.main);

// --- a minimal stand-in for the `vscode` module, enough to load and activate the bundle ---------

// `config` holds User (global) values; `workspaceConfig` values a repository's settings would set.
function createVscodeMock(config, { workspaceConfig = {}, workspaceFolders } = {}) {
  const calls = { commands: [], errors: [], warnings: [], outputChannels: [], outputLines: [] };
  const disposable = () => ({ dispose() {} });
  class EventEmitter {
    constructor() {
      this.event = () => disposable();
    }
    fire() {}
    dispose() {}
  }
  const base = {
    window: {
      createOutputChannel(name) {
        calls.outputChannels.push(name);
        return {
          name,
          append() {},
          appendLine(line) {
            calls.outputLines.push(line);
          },
          replace() {},
          clear() {},
          show() {},
          hide() {},
          dispose() {},
        };
      },
      showErrorMessage(message) {
        calls.errors.push(message);
        return Promise.resolve(undefined);
      },
      showWarningMessage(message) {
        calls.warnings.push(message);
        return Promise.resolve(undefined);
      },
      showInformationMessage: () => Promise.resolve(undefined),
    },
    commands: {
      registerCommand(id) {
        calls.commands.push(id);
        return disposable();
      },
      executeCommand: () => Promise.resolve(undefined),
    },
    workspace: {
      workspaceFolders: workspaceFolders?.map((fsPath) => ({ uri: { scheme: 'file', fsPath } })),
      getConfiguration(section) {
        assert.equal(section, 'hipaaLsp');
        const has = (o, key) => Object.prototype.hasOwnProperty.call(o, key);
        return {
          get(key, fallback) {
            if (has(workspaceConfig, key)) return workspaceConfig[key];
            return has(config, key) ? config[key] : fallback;
          },
          inspect(key) {
            const prop = pkg.contributes.configuration.properties[`hipaaLsp.${key}`];
            return {
              key: `hipaaLsp.${key}`,
              defaultValue: prop?.default,
              globalValue: config[key],
              workspaceValue: workspaceConfig[key],
            };
          },
        };
      },
      onDidChangeConfiguration: () => disposable(),
    },
    EventEmitter,
    Disposable: class {
      static from() {
        return disposable();
      }
      dispose() {}
    },
  };
  // Anything else the bundled language client touches while loading gets an inert class.
  const vscode = new Proxy(base, {
    get(target, prop) {
      if (prop in target) return target[prop];
      if (typeof prop === 'symbol' || prop === 'then' || prop === '__esModule') return undefined;
      return class {};
    },
  });
  return { vscode, calls };
}

function loadBundle(vscode) {
  const originalLoad = Module._load;
  Module._load = function (request, parent, isMain) {
    if (request === 'vscode') return vscode;
    return originalLoad.call(this, request, parent, isMain);
  };
  try {
    delete require.cache[bundle];
    return require(bundle);
  } finally {
    Module._load = originalLoad;
  }
}

// --- manifest -------------------------------------------------------------------------------

test('package.json declares the extension entry point and engine', () => {
  assert.equal(pkg.name, 'hipaa-lsp');
  assert.equal(pkg.main, './out/extension.js');
  assert.equal(pkg.engines.vscode, '^1.82.0');
  assert.equal(pkg.dependencies['vscode-languageclient'], '9.0.1');
  assert.equal(pkg.devDependencies['@types/vscode'], '1.82.0');
  for (const [name, version] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
    assert.match(version, /^\d+\.\d+\.\d+$/, `${name} must be pinned to an exact version`);
  }
});

test('package.json activates on the relevant languages', () => {
  for (const lang of ['yaml', 'json', 'xml', 'dockerfile', 'ini', 'properties', 'terraform']) {
    assert.ok(pkg.activationEvents.includes(`onLanguage:${lang}`), `missing onLanguage:${lang}`);
  }
  assert.ok(pkg.activationEvents.includes('onStartupFinished'));
  assert.ok(!pkg.activationEvents.some((e) => e.startsWith('workspaceContains')));
});

test('package.json contributes the commands', () => {
  const commands = Object.fromEntries(pkg.contributes.commands.map((c) => [c.command, c]));
  assert.ok(commands['hipaaLsp.restartServer']);
  assert.equal(
    `${commands['hipaaLsp.restartServer'].category}: ${commands['hipaaLsp.restartServer'].title}`,
    'HIPAA LSP: Restart Server',
  );
  assert.ok(commands['hipaaLsp.showOutput']);
});

test('package.json contributes the hipaaLsp settings with their defaults', () => {
  const props = pkg.contributes.configuration.properties;
  const expected = {
    'hipaaLsp.serverPath': ['string', 'hipaa-lsp'],
    'hipaaLsp.serverArgs': ['array', ['serve']],
    'hipaaLsp.debounceMs': ['number', 150],
    'hipaaLsp.disabledRules': ['array', []],
    'hipaaLsp.severityOverrides': ['object', {}],
    'hipaaLsp.maxFileSizeKb': ['integer', 2048],
    'hipaaLsp.fileAssociations': ['object', {}],
    'hipaaLsp.trace.server': ['string', 'off'],
  };
  for (const [key, [type, def]] of Object.entries(expected)) {
    assert.ok(props[key], `missing setting ${key}`);
    assert.equal(props[key].type, type, `${key} type`);
    assert.deepEqual(props[key].default, def, `${key} default`);
  }
  assert.equal(props['hipaaLsp.debounceMs'].minimum, 0);
  assert.equal(props['hipaaLsp.disabledRules'].items.type, 'string');
  assert.deepEqual(props['hipaaLsp.severityOverrides'].additionalProperties.enum, [
    'error',
    'warning',
    'information',
    'hint',
  ]);
  assert.deepEqual(props['hipaaLsp.trace.server'].enum, ['off', 'messages', 'verbose']);
});

// --- compiled bundle ------------------------------------------------------------------------

test('compiled bundle exists (run `npm run compile` first)', () => {
  assert.ok(fs.existsSync(bundle), `${path.relative(root, bundle)} is missing; run npm run compile`);
  assert.ok(fs.statSync(bundle).size > 0, 'compiled bundle is empty');
});

test('compiled bundle exports activate and deactivate', () => {
  const { vscode } = createVscodeMock({});
  const ext = loadBundle(vscode);
  assert.equal(typeof ext.activate, 'function');
  assert.equal(typeof ext.deactivate, 'function');
});

test('document selector covers file and untitled languages and the file patterns', () => {
  const { vscode } = createVscodeMock({});
  const ext = loadBundle(vscode);
  const selector = ext.documentSelector({ '**/custom/*.txt': 'redis' });
  for (const language of ['yaml', 'json', 'xml', 'dockerfile', 'ini', 'properties', 'terraform']) {
    for (const scheme of ['file', 'untitled']) {
      assert.ok(
        selector.some((f) => f.language === language && f.scheme === scheme),
        `missing ${scheme}:${language}`,
      );
    }
  }
  const patterns = selector.filter((f) => f.pattern).map((f) => f.pattern);
  for (const p of [
    '**/*.conf', '**/*.cnf', '**/pg_hba.conf', '**/*.service', '**/*.socket', '**/*.mount',
    '**/*.properties', '**/.htaccess', '**/web.config', '**/*.config', '**/Dockerfile*',
    '**/Containerfile', '**/*.tf', '**/custom/*.txt',
  ]) {
    assert.ok(patterns.includes(p), `missing pattern ${p}`);
  }
});

test('activation without a server executable registers the commands and explains how to install', async () => {
  const { vscode, calls } = createVscodeMock({
    serverPath: path.join(root, 'does-not-exist', 'hipaa-lsp'),
  });
  const ext = loadBundle(vscode);
  const subscriptions = [];
  await ext.activate({ subscriptions });
  assert.deepEqual(calls.outputChannels, ['HIPAA LSP']);
  assert.ok(calls.commands.includes('hipaaLsp.restartServer'));
  assert.ok(calls.commands.includes('hipaaLsp.showOutput'));
  assert.ok(subscriptions.length >= 3);
  assert.equal(calls.errors.length, 1, 'expected one error message');
  assert.match(calls.errors[0], /pip install hipaa-lsp/);
  assert.match(calls.errors[0], /hipaaLsp\.serverPath/);
  await ext.deactivate();
});

// --- who may choose the server program (trust.ts) ---------------------------------------------

test('serverPath and serverArgs are machine-scoped and restricted in untrusted workspaces', () => {
  const props = pkg.contributes.configuration.properties;
  assert.equal(props['hipaaLsp.serverPath'].scope, 'machine');
  assert.equal(props['hipaaLsp.serverArgs'].scope, 'machine');
  const untrusted = pkg.capabilities.untrustedWorkspaces;
  assert.equal(untrusted.supported, 'limited');
  assert.deepEqual([...untrusted.restrictedConfigurations].sort(), ['hipaaLsp.serverArgs', 'hipaaLsp.serverPath']);
});

function decide(overrides) {
  const { vscode } = createVscodeMock({});
  const ext = loadBundle(vscode);
  return ext.decideLaunch({
    serverPath: { defaultValue: 'hipaa-lsp' },
    serverArgs: { defaultValue: ['serve'] },
    workspaceFolders: ['/home/u/repo'],
    resolve: (cmd) => (cmd === 'hipaa-lsp' ? '/usr/bin/hipaa-lsp' : cmd.startsWith('/') ? cmd : undefined),
    platform: 'linux',
    ...overrides,
  });
}

test('the default server on PATH outside the workspace starts', () => {
  const d = decide({});
  assert.equal(d.ok, true);
  assert.equal(d.command, '/usr/bin/hipaa-lsp');
  assert.deepEqual(d.args, ['serve']);
  assert.deepEqual(d.warnings, []);
});

test('a serverPath or serverArgs from workspace settings is ignored, with a warning', () => {
  const d = decide({
    serverPath: { defaultValue: 'hipaa-lsp', workspaceValue: '/home/u/repo/evil.sh' },
    serverArgs: { defaultValue: ['serve'], workspaceFolderValue: ['-c', 'import os'] },
  });
  assert.equal(d.ok, true);
  assert.equal(d.command, '/usr/bin/hipaa-lsp');
  assert.deepEqual(d.args, ['serve']);
  assert.equal(d.warnings.length, 2);
  assert.match(d.warnings[0], /Ignored hipaaLsp\.serverPath from this workspace's settings/);
  assert.match(d.warnings[1], /hipaaLsp\.serverArgs/);
});

test('a program inside a workspace folder runs only when the user set it in User settings', () => {
  const inside = '/home/u/repo/.venv/bin/hipaa-lsp';
  const found = decide({ resolve: () => inside });
  assert.equal(found.ok, false, 'the default name found inside the workspace must not run');
  assert.match(found.reason, /inside the workspace folder \/home\/u\/repo/);
  assert.match(found.reason, /User settings/);
  const chosen = decide({ serverPath: { defaultValue: 'hipaa-lsp', globalValue: inside } });
  assert.equal(chosen.ok, true);
  assert.equal(chosen.command, inside);
  assert.equal(chosen.fromUser, true);
});

test('a symlink that leads into the workspace counts as inside it', () => {
  const d = decide({
    resolve: () => '/usr/local/bin/hipaa-lsp',
    realpath: (f) => (f === '/usr/local/bin/hipaa-lsp' ? '/home/u/repo/tools/hipaa-lsp' : f),
  });
  assert.equal(d.ok, false);
  assert.match(d.reason, /\/home\/u\/repo\/tools\/hipaa-lsp/);
});

test('a relative serverPath is refused, even from User settings', () => {
  for (const rel of ['./bin/hipaa-lsp', 'bin/hipaa-lsp', '../x/hipaa-lsp']) {
    const d = decide({ serverPath: { defaultValue: 'hipaa-lsp', globalValue: rel } });
    assert.equal(d.ok, false, rel);
    assert.equal(d.notFound, false);
    assert.match(d.reason, /relative path/);
  }
});

test('Windows paths compare without case', () => {
  const d = decide({
    platform: 'win32',
    workspaceFolders: ['C:\\Users\\u\\Repo'],
    resolve: () => 'c:\\users\\u\\repo\\tools\\hipaa-lsp.exe',
  });
  assert.equal(d.ok, false);
  const { vscode } = createVscodeMock({});
  const ext = loadBundle(vscode);
  assert.equal(ext.isInside('/home/u/repo2/x', '/home/u/repo', 'linux'), false);
  assert.equal(ext.isInside('/home/u/repo/x', '/home/u/repo', 'linux'), true);
  assert.equal(ext.isInside('/home/u/repo/..x/y', '/home/u/repo', 'linux'), true);
  assert.equal(ext.isInside('/home/u/x', '/home/u/repo', 'linux'), false);
});

test('an executable that is not found is reported as such', () => {
  const d = decide({ resolve: () => undefined });
  assert.equal(d.ok, false);
  assert.equal(d.notFound, true);
});

test('activation refuses the default server found on PATH inside the opened folder', async () => {
  const ws = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'hipaa-ws-'));
  const bin = path.join(ws, '.venv', 'bin');
  fs.mkdirSync(bin, { recursive: true });
  const marker = path.join(ws, 'ran');
  fs.writeFileSync(path.join(bin, 'hipaa-lsp'), `#!/bin/sh\ntouch '${marker}'\n`, { mode: 0o755 });
  const savedPath = process.env.PATH;
  process.env.PATH = `${bin}${path.delimiter}${savedPath}`;
  try {
    const { vscode, calls } = createVscodeMock(
      {},
      { workspaceConfig: { serverPath: path.join(bin, 'hipaa-lsp') }, workspaceFolders: [ws] },
    );
    const ext = loadBundle(vscode);
    await ext.activate({ subscriptions: [] });
    assert.equal(calls.errors.length, 1, 'expected one error message');
    assert.match(calls.errors[0], /inside the workspace folder/);
    assert.match(calls.warnings.join('\n'), /Ignored hipaaLsp\.serverPath from this workspace's settings/);
    await ext.deactivate();
    assert.equal(fs.existsSync(marker), false, 'the workspace program was run');
  } finally {
    process.env.PATH = savedPath;
    fs.rmSync(ws, { recursive: true, force: true });
  }
});
