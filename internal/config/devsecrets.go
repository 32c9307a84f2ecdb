package config

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Development secrets live in files under DATA_DIR (default .data, which is
// git-ignored), made from random bytes the first time they are needed and
// reused on every start after, so a development install exposed on a
// network does not accept tokens signed with a key anyone can read in the
// source.
const (
	jwtSecretFile     = "jwt-secret"
	encryptionKeyFile = "encryption-key"
	// devKeyID names the per-install development encryption key.
	devKeyID = "local"
)

// legacyDevEncryptionKey is the built-in key development installs encrypted
// with before they got a key of their own. It stays in the development
// keyring so data written then still decrypts, but it never encrypts:
// `leadpilot reencrypt` moves such data to the install's own key. It is
// never part of a production keyring (ENCRYPTION_KEYS is required there).
const legacyDevEncryptionKey = "dev:bGVhZHBpbG90LWRldi1rZXktMzItYnl0ZXMtbG9uZyE="

// devSecret returns the content of dir/name, creating the file first with
// make() when it does not exist. The file is written whole under a
// temporary name and linked into place, so concurrent starts agree on one
// value and nobody reads half a file.
func devSecret(dir, name string, make func() (string, error)) (string, error) {
	path := filepath.Join(dir, name)
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	value, err := make()
	if err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file 0600 already; say so for the reader.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return "", err
	}
	if _, err := tmp.WriteString(value + "\n"); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if !errors.Is(err, fs.ErrExist) {
			return "", err
		}
		// Another process made it first: use theirs.
		b, err := os.ReadFile(path)
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(string(b)), nil
	}
	return value, nil
}

// randomBase64 is n random bytes, base64 (standard, padded) encoded.
func randomBase64(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random bytes: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// devJWTSecret reads or creates the install's access-token secret: 48
// random bytes, base64.
func devJWTSecret(dir string) (string, error) {
	return devSecret(dir, jwtSecretFile, func() (string, error) { return randomBase64(48) })
}

// devEncryptionKey reads or creates the install's encryption key, stored
// as an ENCRYPTION_KEYS entry ("local:" and 32 random bytes, base64).
func devEncryptionKey(dir string) (string, error) {
	return devSecret(dir, encryptionKeyFile, func() (string, error) {
		k, err := randomBase64(32)
		return devKeyID + ":" + k, err
	})
}

// dataFile is the absolute path of a file in DATA_DIR, for messages: a
// relative DATA_DIR depends on where the binary was started, and a
// process started elsewhere makes secrets of its own that do not decrypt
// what this one stored.
func dataFile(dir, name string) string {
	p := filepath.Join(dir, name)
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}
