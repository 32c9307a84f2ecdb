package mailparse_test

import (
	"fmt"

	"github.com/leadpilot/leadpilot/internal/mailparse"
)

func ExampleParse() {
	raw := "From: Tom Baker <Tom@Northwind-Example.com>\r\n" +
		"Subject: Automatic reply: Quick question\r\n" +
		"Date: Wed, 02 Dec 2026 09:00:00 +0100\r\n" +
		"In-Reply-To: <lp.1@leadpilot-demo.io>\r\n" +
		"Auto-Submitted: auto-replied\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"\r\n" +
		"I am out of the office until Friday and back on Monday, 7 December.\r\n" +
		"\r\n" +
		"-- \r\n" +
		"Tom\r\n"
	m, err := mailparse.Parse([]byte(raw))
	if err != nil {
		panic(err)
	}
	fmt.Println(m.From.Address, m.InReplyTo)
	fmt.Printf("%q\n", m.Clean)
	fmt.Println(m.AutoReply.Is, m.AutoReply.OutOfOffice, m.AutoReply.ReturnDate.Format("2006-01-02"))
	fmt.Println(m.AutoReply.Reason)
	// Output:
	// tom@northwind-example.com lp.1@leadpilot-demo.io
	// "I am out of the office until Friday and back on Monday, 7 December."
	// true true 2026-12-07
	// Auto-Submitted: auto-replied; subject: Automatic reply; out-of-office phrasing
}
