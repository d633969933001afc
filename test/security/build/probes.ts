/**
 * The hostile build code of the build attack tests: an npm install script, PEP 517 backends that try
 * to read the token and write outside, and one that plants links in the work folder.
 */

/** A postinstall probe: reads a file, connects directly and through the proxy, prints, exits 1. */
export const PROBE_JS = `
const fs = require('node:fs');
const net = require('node:net');
const [tokenFile, port] = process.argv.slice(2);
const out = {};
try { out.token = fs.readFileSync(tokenFile, 'utf8'); } catch (e) { out.token = 'denied:' + e.code; }
try { fs.writeFileSync(tokenFile + '.pwned', 'x'); out.write = 'written'; } catch (e) { out.write = 'denied:' + e.code; }
const direct = () => new Promise((done) => {
  const s = net.connect(Number(port), '127.0.0.1');
  s.on('connect', () => { s.destroy(); done('connected'); });
  s.on('error', (e) => done('refused:' + e.code));
});
const viaProxy = (target) => new Promise((done) => {
  const proxy = process.env.HTTPS_PROXY;
  if (!proxy) return done('no-proxy');
  const u = new URL(proxy);
  const s = net.connect(Number(u.port), u.hostname);
  s.on('connect', () => s.write('CONNECT ' + target + ' HTTP/1.1\\r\\nhost: ' + target + '\\r\\n\\r\\n'));
  s.once('data', (d) => { s.destroy(); done(String(d).split('\\r\\n')[0].split(' ')[1]); });
  s.on('error', (e) => done('error:' + e.code));
  setTimeout(() => { s.destroy(); done('timeout'); }, 10000);
});
(async () => {
  // the test looks at this process from the host, then lets it go on
  fs.writeFileSync('/build/.probe-ready', '');
  for (let i = 0; i < 200 && !fs.existsSync('/build/.probe-go'); i++) await new Promise((r) => setTimeout(r, 50));
  out.direct = await direct();
  out.proxyControl = await viaProxy('127.0.0.1:' + port);
  out.proxyLocalhost = await viaProxy('localhost:' + port);
  out.proxyRegistry = await viaProxy('registry.npmjs.org:443');
  console.log('SKIFF-PROBE ' + JSON.stringify(out));
  process.exit(1);
})();
`;

/** An in-tree PEP 517 backend whose hooks try to read the admin token and write outside. */
export const backend = (tokenFile: string, marker: string) => `
import json, os, time
def _probe():
    out = {}
    try:
        out['token'] = open(${JSON.stringify(tokenFile)}).read()
    except Exception as e:
        out['token'] = 'denied:' + type(e).__name__
    for name, target in (('marker', ${JSON.stringify(marker)}), ('datadir', ${JSON.stringify(tokenFile)} + '.pwned')):
        try:
            open(target, 'w').write('pwned')
            out[name] = 'written'
        except Exception as e:
            out[name] = 'denied:' + type(e).__name__
    # the test looks at this process from the host, then lets it go on
    open('/build/.probe-ready', 'w').close()
    for _ in range(200):
        if os.path.exists('/build/.probe-go'):
            break
        time.sleep(0.05)
    raise RuntimeError('SKIFF-PROBE ' + json.dumps(out))
def get_requires_for_build_wheel(config_settings=None):
    return []
def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    _probe()
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _probe()
`;

export const pyproject = `[build-system]
requires = []
build-backend = "evilbackend"
backend-path = ["."]

[project]
name = "evil"
version = "1.0"
`;

/**
 * An in-tree backend that plants links in the work folder (name → target), builds a valid wheel, and
 * with `cover` drops a traceback.py into /build that removes the links when a later step imports it
 * (the compile check once ran `python3 -c` in /build, where the current folder is on sys.path); with
 * `handshake` it waits in build_wheel (.probe-ready, .probe-go) so the host can act meanwhile.
 */
export const linkingBackend = (links: Record<string, string>, cover: boolean, handshake = false) => `
import os, time, zipfile
LINKS = ${JSON.stringify(links)}
COVER = ${cover ? 'True' : 'False'}
HANDSHAKE = ${handshake ? 'True' : 'False'}
def _plant():
    for name, target in LINKS.items():
        try:
            os.symlink(target, '/build/' + name)
        except FileExistsError:
            pass
def get_requires_for_build_wheel(config_settings=None):
    _plant()
    return []
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _plant()
    if HANDSHAKE:
        # the host makes the links' targets now, then lets the build go on
        open('/build/.probe-ready', 'w').close()
        for _ in range(200):
            if os.path.exists('/build/.probe-go'):
                break
            time.sleep(0.05)
    name = 'evil-1.0-py3-none-any.whl'
    with zipfile.ZipFile(os.path.join(wheel_directory, name), 'w') as z:
        z.writestr('evil/__init__.py', '')
        z.writestr('evil-1.0.dist-info/METADATA', 'Metadata-Version: 2.1\\nName: evil\\nVersion: 1.0\\n')
        z.writestr('evil-1.0.dist-info/WHEEL', 'Wheel-Version: 1.0\\nGenerator: evil\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n')
        z.writestr('evil-1.0.dist-info/RECORD', 'evil/__init__.py,,\\nevil-1.0.dist-info/METADATA,,\\nevil-1.0.dist-info/WHEEL,,\\nevil-1.0.dist-info/RECORD,,\\n')
    if COVER:
        with open('/build/traceback.py', 'w') as f:
            f.write('import os\\nfor n in %r:\\n    try:\\n        os.unlink("/build/" + n)\\n    except OSError:\\n        pass\\n' % (list(LINKS),))
    return name
`;
