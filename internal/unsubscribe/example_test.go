package unsubscribe_test

import (
	"fmt"

	"github.com/google/uuid"

	"github.com/leadpilot/leadpilot/internal/unsubscribe"
)

// The sending engine puts both links in List-Unsubscribe; the handler for
// /u/{token} parses the token back to the organisation and lead.
func Example() {
	jwtSecret := []byte("example-only-secret-of-at-least-32-bytes")
	signer, err := unsubscribe.NewSigner(jwtSecret)
	if err != nil {
		panic(err)
	}
	org := uuid.MustParse("0190f1f2-0000-7000-8000-00000000000a")
	lead := uuid.MustParse("0190f1f2-0000-7000-8000-00000000000b")

	token := signer.Token(org, lead)
	fmt.Printf("List-Unsubscribe: <%s>, <%s>\n",
		unsubscribe.URL("https://app.example.com/u", token),
		unsubscribe.Mailto("unsubscribe@mail.example.com", token))
	fmt.Println("List-Unsubscribe-Post: List-Unsubscribe=One-Click")

	gotOrg, gotLead, err := signer.Parse(token)
	fmt.Println(gotOrg == org, gotLead == lead, err)
	// Output:
	// List-Unsubscribe: <https://app.example.com/u/AQGQ8fIAAHAAgAAAAAAAAAoBkPHyAABwAIAAAAAAAAALKBnN4dylFMPxvc0fD4U-xQ>, <mailto:unsubscribe@mail.example.com?subject=unsubscribe%20AQGQ8fIAAHAAgAAAAAAAAAoBkPHyAABwAIAAAAAAAAALKBnN4dylFMPxvc0fD4U-xQ>
	// List-Unsubscribe-Post: List-Unsubscribe=One-Click
	// true true <nil>
}
