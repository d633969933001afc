/** A Python wheel made on the spot, for dependency installs without PyPI (unreachable here). */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const PYTHON = '/usr/bin/python3';

/**
 * Writes skiffdemo-1.0-py3-none-any.whl into dir: a wheel is a zip with the package, METADATA, WHEEL
 * and a RECORD of sha256 hashes.
 */
export function buildWheel(dir: string): void {
  const script = String.raw`
import base64, hashlib, sys, zipfile
files = {
    "skiffdemo/__init__.py": "def greet(name):\n    return 'hello ' + name + ' from skiffdemo'\n",
    "skiffdemo-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: skiffdemo\nVersion: 1.0\n",
    "skiffdemo-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: skiff-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
record = []
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as whl:
    for name, text in files.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (name, digest, len(data)))
        whl.writestr(name, data)
    record.append("skiffdemo-1.0.dist-info/RECORD,,")
    whl.writestr("skiffdemo-1.0.dist-info/RECORD", "\n".join(record) + "\n")
`;
  execFileSync(PYTHON, ['-c', script, path.join(dir, 'skiffdemo-1.0-py3-none-any.whl')]);
}
