package secrets_test

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/leadpilot/leadpilot/internal/secrets"
)

func Example() {
	// In production the spec comes from the environment, e.g.
	// LEADPILOT_SECRET_KEYS="k2025:$(openssl rand -base64 32)".
	key := make([]byte, secrets.KeySize)
	_, _ = rand.Read(key)
	keys, err := secrets.ParseKeys("k2025:" + base64.StdEncoding.EncodeToString(key))
	if err != nil {
		panic(err)
	}
	ring, err := secrets.NewKeyring(keys, "k2025")
	if err != nil {
		panic(err)
	}

	// Bind the value to where it is stored so it cannot be moved elsewhere.
	aad := secrets.AAD("email_accounts", "credentials_encrypted", "0190a5f6-7c1e-7b6a-9d3e-2f8a1c4b5d6e")
	stored, err := ring.EncryptString("smtp-password", aad)
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.HasPrefix(stored, "v1.k2025."))

	password, err := ring.DecryptString(stored, aad)
	fmt.Println(password, err)

	_, err = ring.DecryptString(stored, secrets.AAD("email_accounts", "credentials_encrypted", "another-row"))
	fmt.Println(err)
	// Output:
	// true
	// smtp-password <nil>
	// secrets: decryption failed (key "k2025")
}
