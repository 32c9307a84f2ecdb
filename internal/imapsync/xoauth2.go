package imapsync

import "github.com/emersion/go-sasl"

// newXOAuth2Client is a SASL client for XOAUTH2, the mechanism Gmail and
// Outlook take for IMAP with an OAuth access token
// (https://developers.google.com/gmail/imap/xoauth2-protocol); go-sasl
// leaves it out by design. The initial response is
// "user=" user ^A "auth=Bearer " token ^A ^A; a server that refuses the
// token answers a JSON challenge, to which the client sends an empty
// response so the server can finish with its NO.
//
// It is emailaccounts.NewXOAuth2Client again, on purpose: an adapter
// imports no domain package, and the mechanism is eight lines.
func newXOAuth2Client(username, token string) sasl.Client {
	return &xoauth2Client{username: username, token: token}
}

type xoauth2Client struct {
	username, token string
}

func (c *xoauth2Client) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + c.username + "\x01auth=Bearer " + c.token + "\x01\x01"), nil
}

func (c *xoauth2Client) Next([]byte) ([]byte, error) {
	return []byte{}, nil
}
