package sequences

import "github.com/leadpilot/leadpilot/internal/llm/builtin"

// price is a model's list price in US dollars per million tokens.
type price struct{ prompt, completion float64 }

// prices are the list prices we know, keyed "provider/model". A model that
// is not here has no estimate (nil), rather than a guess: providers change
// prices and add models faster than this table. The figures are the
// providers' published prices as last checked; the built-in provider is
// free.
var prices = map[string]price{
	"builtin/" + builtin.Model:           {0, 0},
	"openai/gpt-4o-mini":                 {0.15, 0.60},
	"openai/gpt-4o":                      {2.50, 10.00},
	"anthropic/claude-3-5-haiku-latest":  {0.80, 4.00},
	"anthropic/claude-3-5-sonnet-latest": {3.00, 15.00},
}

// EstimateCost is what the tokens cost at the model's list price, in US
// dollars, or nil when the price is not known.
func EstimateCost(provider, model string, promptTokens, completionTokens int64) *float64 {
	p, ok := prices[provider+"/"+model]
	if !ok {
		return nil
	}
	c := (float64(promptTokens)*p.prompt + float64(completionTokens)*p.completion) / 1e6
	return &c
}
