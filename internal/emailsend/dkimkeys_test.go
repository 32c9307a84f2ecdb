package emailsend_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/emailsend"
)

func TestParseDKIMKeys(t *testing.T) {
	dir := t.TempDir()
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	pk8, err := x509.MarshalPKCS8PrivateKey(ed)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ed.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk8}), 0o600))
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rsa.pem"), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "junk.pem"), []byte("not a key"), 0o600))

	keys, err := emailsend.ParseDKIMKeys("Sender.test:s1:" + filepath.Join(dir, "ed.pem") + ", other.test:s2:" + filepath.Join(dir, "rsa.pem"))
	require.NoError(t, err)
	require.Len(t, keys, 2)
	require.Equal(t, "s1", keys["sender.test"].Selector)
	require.Equal(t, "other.test", keys["other.test"].Domain)

	for _, bad := range []string{"sender.test:s1", "sender.test:s1:" + filepath.Join(dir, "missing.pem"), "sender.test:s1:" + filepath.Join(dir, "junk.pem")} {
		_, err := emailsend.ParseDKIMKeys(bad)
		require.Error(t, err, bad)
	}
	keys, err = emailsend.ParseDKIMKeys("")
	require.NoError(t, err)
	require.Empty(t, keys)
}
