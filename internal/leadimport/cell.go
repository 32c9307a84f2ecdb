package leadimport

import "strings"

// SafeCell defuses a cell that a spreadsheet would run as a formula (one
// starting with =, +, -, @, a tab or a CR) by prefixing a quote. Every CSV
// the API writes from user data (the leads export, an import's rejected
// rows) passes its cells through it.
func SafeCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
