package sending

import (
	"context"
	"fmt"

	"github.com/google/uuid"
)

// Deliver sends one message that is not a sequence step (a reply composed
// in the inbox) from account of org over channel's adapter, the same one
// the engine's batches use (kept-open SMTP connections, DKIM, the
// sandbox). It records nothing: the caller owns the message's row and its
// fate. An unknown channel is Invalid.
func (e *Engine) Deliver(ctx context.Context, org, account uuid.UUID, channel string, o Outgoing) Outcome {
	ch := e.channels[channel]
	if ch == nil {
		return Outcome{Result: Invalid, Error: fmt.Sprintf("no %s channel is configured", channel)}
	}
	res := ch.Send(ctx, org, account, []Outgoing{o})
	if len(res) != 1 {
		return Outcome{Result: Uncertain, Error: "the channel returned no outcome"}
	}
	return res[0]
}
