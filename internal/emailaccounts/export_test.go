package emailaccounts

// ParseForTest exposes the sandbox's header and body parsing to the fuzz
// test: the headers a row keeps and the text the API shows.
func ParseForTest(raw []byte) (from string, to []string, subject string, messageID, inReplyTo *string, text string, err error) {
	r, err := parseRaw(raw)
	if err != nil {
		return "", nil, "", nil, nil, "", err
	}
	return r.FromAddress, r.ToAddresses, r.Subject, r.MessageID, r.InReplyTo, bodyText(raw), nil
}
