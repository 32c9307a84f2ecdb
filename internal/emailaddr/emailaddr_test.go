package emailaddr

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCanonical(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"  Ada@Example.COM ": "ada@example.com",
		"ａｄａ@ｅｘａｍｐｌｅ.com":    "ada@example.com",     // full-width forms fold (NFKC)
		"ﬁnance@example.com": "finance@example.com", // the ligature is two letters
	} {
		require.Equal(t, want, Canonical(in), in)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	for addr, code := range map[string]string{
		"a1@example.com":          "",
		"a1@exаmple.com":          "mixed_script", // Cyrillic а among Latin letters
		"pаypal@example.com":      "mixed_script",
		"info@пример.рф":          "", // one script per label: a real IDN
		"info@例え.jp":              "",
		"テスト@例え.jp":               "", // Japanese mixes Han and kana
		"user@ex\u0430mple.org":   "mixed_script",
		"no-at-sign.example.com":  "invalid_email",
		"a@@example.com":          "invalid_email",
		"tab\t@example.com":       "invalid_email",
		"o'brien+tag@example.com": "",
	} {
		p, ok := Check(Canonical(addr))
		if code == "" {
			require.True(t, ok, "%s: %v", addr, p)
			continue
		}
		require.False(t, ok, addr)
		require.Equal(t, code, p.Code, addr)
		require.NotEmpty(t, p.Message)
	}
}
