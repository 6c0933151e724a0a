"""A Java keystore whose key entry holds another certificate's chain names the file and the entry.

keytool refuses to write such an entry, but Java's ``KeyStore.setKeyEntry`` does not check; the
file here is written by Java itself.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from certmgr.shared.errors import KeyMismatchError
from certmgr.shared.pki import load
from tests.conftest import require_tool
from tests.factories.openssl_files import P12_PASS, STORE_PASS, PkiFiles

_MISMATCH_JAVA = """
import java.io.*;
import java.security.*;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
public class Mismatch {
    public static void main(String[] a) throws Exception {
        KeyStore src = KeyStore.getInstance("PKCS12");
        try (InputStream in = new FileInputStream(a[0])) { src.load(in, a[1].toCharArray()); }
        Key key = src.getKey("leaf-ec", a[1].toCharArray());
        Certificate other;
        try (InputStream in = new FileInputStream(a[2])) {
            other = CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
        KeyStore dst = KeyStore.getInstance("JKS");
        dst.load(null, null);
        dst.setKeyEntry("web", key, a[4].toCharArray(), new Certificate[] {other});
        try (OutputStream out = new FileOutputStream(a[3])) { dst.store(out, a[4].toCharArray()); }
    }
}
"""


def test_key_entry_with_another_certificate_names_file_and_entry(
    pki_files: PkiFiles, tmp_path: Path
) -> None:
    java = require_tool("java")
    (tmp_path / "Mismatch.java").write_text(_MISMATCH_JAVA)
    out = tmp_path / "mismatch.jks"
    subprocess.run(
        [java, "Mismatch.java", str(pki_files.path("leaf-ec.p12")), P12_PASS,
         str(pki_files.path("leaf-rsa.pem")), str(out), STORE_PASS],
        cwd=tmp_path, check=True, capture_output=True,
    )  # fmt: skip
    with pytest.raises(
        KeyMismatchError,
        match=r"^mismatch\.jks, entry 'web': private key does not match certificate .*leaf-rsa\.example\.test",
    ):
        load(out.read_bytes(), password=STORE_PASS.encode(), name="mismatch.jks")
