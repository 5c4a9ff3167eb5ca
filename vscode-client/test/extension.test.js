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

function createVscodeMock(config) {
  const calls = { commands: [], errors: [], outputChannels: [], outputLines: [] };
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
      showWarningMessage: () => Promise.resolve(undefined),
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
      workspaceFolders: undefined,
      getConfiguration(section) {
        assert.equal(section, 'hipaaLsp');
        return {
          get(key, fallback) {
            return Object.prototype.hasOwnProperty.call(config, key) ? config[key] : fallback;
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
    'hipaaLsp.maxFileSizeKb': ['number', 2048],
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
