package builtin

import (
	"strings"

	"github.com/leadpilot/leadpilot/internal/llm"
)

// wantsShorter reports whether an instruction asks for shorter copy.
func wantsShorter(instruction string) bool {
	t := strings.ToLower(instruction)
	for _, w := range []string{"short", "brief", "concise", "trim", "cut"} {
		if strings.Contains(t, w) {
			return true
		}
	}
	return false
}

// shorten honours an instruction asking for shorter copy: an email body of
// more than three paragraphs keeps its greeting, its first paragraph and
// its signature block. Chat steps are short already and stay as they are.
func shorten(steps []llm.Step, instruction string) []llm.Step {
	if !wantsShorter(instruction) {
		return steps
	}
	for i, s := range steps {
		if s.Channel != llm.ChannelEmail {
			continue
		}
		paras := strings.Split(s.Body, "\n\n")
		if len(paras) <= 3 {
			continue
		}
		steps[i].Body = strings.Join([]string{paras[0], paras[1], paras[len(paras)-1]}, "\n\n")
	}
	return steps
}
