package placeholder_test

import (
	"fmt"

	"github.com/leadpilot/leadpilot/internal/placeholder"
)

func Example() {
	tmpl, err := placeholder.Parse("Hi {{first_name|there}}, how is {{ company }} doing with {{pain_point}}?")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tmpl.Names())

	text, unresolved := tmpl.Render(map[string]string{"company": "Acme"})
	fmt.Println(text)
	fmt.Println("unresolved:", unresolved)

	_, err = placeholder.Parse("Hi {{first_name, quick one")
	fmt.Println(err)
	// Output:
	// [first_name company pain_point]
	// Hi there, how is Acme doing with ?
	// unresolved: [pain_point]
	// placeholder: line 1, column 4: unterminated placeholder: "{{" has no "}}" on its line
}
