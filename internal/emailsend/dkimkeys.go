package emailsend

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
)

// ParseDKIMKeys reads the DKIM_KEYS setting: comma-separated
// "domain:selector:path" entries, each naming a PEM private key (PKCS#8, or
// PKCS#1 RSA) that signs the mail of domain under selector. It returns the
// signers by domain (lower-case).
func ParseDKIMKeys(spec string) (map[string]*DKIM, error) {
	out := map[string]*DKIM{}
	for _, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		parts := strings.SplitN(entry, ":", 3)
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
			return nil, fmt.Errorf("emailsend: DKIM key %q: want domain:selector:path", entry)
		}
		raw, err := os.ReadFile(parts[2])
		if err != nil {
			return nil, fmt.Errorf("emailsend: DKIM key of %s: %w", parts[0], err)
		}
		signer, err := parseSigner(raw)
		if err != nil {
			return nil, fmt.Errorf("emailsend: DKIM key of %s (%s): %w", parts[0], parts[2], err)
		}
		d := strings.ToLower(parts[0])
		out[d] = &DKIM{Domain: d, Selector: parts[1], Signer: signer}
	}
	return out, nil
}

func parseSigner(raw []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, fmt.Errorf("no PEM block")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("the key cannot sign")
		}
		return s, nil
	}
	k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("neither a PKCS#8 nor a PKCS#1 RSA private key")
	}
	return k, nil
}
