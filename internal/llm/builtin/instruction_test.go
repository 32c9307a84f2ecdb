package builtin_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/llm"
	"github.com/leadpilot/leadpilot/internal/llm/builtin"
)

func TestInstruction(t *testing.T) {
	t.Parallel()
	base := llm.SequenceRequest{
		Lead:     llm.Lead{FirstName: "Ana", Company: "Acme", JobTitle: "Head of Sales"},
		Business: fullBusiness(),
		Channels: []llm.Channel{llm.ChannelEmail},
		Length:   3,
	}
	gen := func(t *testing.T, instruction string) []llm.Step {
		t.Helper()
		req := base
		req.Instruction = instruction
		res, err := builtin.New().GenerateSequence(context.Background(), req)
		require.NoError(t, err)
		require.NoError(t, llm.ValidateSequence(req, res.Steps))
		return res.Steps
	}
	plain := gen(t, "")

	t.Run("ShorterKeepsOpeningFirstParagraphAndSignature", func(t *testing.T) {
		t.Parallel()
		short := gen(t, "Shorter, please")
		require.Len(t, short, len(plain))
		shortened := 0
		for i := range plain {
			require.LessOrEqual(t, len(short[i].Body), len(plain[i].Body))
			p := strings.Split(plain[i].Body, "\n\n")
			if len(p) > 3 {
				shortened++
				require.Equal(t, strings.Join([]string{p[0], p[1], p[len(p)-1]}, "\n\n"), short[i].Body)
			}
		}
		require.Positive(t, shortened, "the default template's emails have more than three paragraphs")
	})
	t.Run("MoreFormalChangesTheGreetingAndSignOff", func(t *testing.T) {
		t.Parallel()
		formal := gen(t, "more formal")
		require.True(t, strings.HasPrefix(formal[0].Body, "Hello"), formal[0].Body)
		require.Contains(t, formal[0].Body, "Kind regards,")
		require.NotEqual(t, plain[0].Body, formal[0].Body)
	})
	t.Run("AnythingElseIsIgnored", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, plain, gen(t, "mention their new funding round"))
	})
}
