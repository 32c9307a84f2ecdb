// Command gen-leads writes a lead CSV for the import benchmark
// (.ci/bench-leads): -rows data rows of 11 columns (email, first_name,
// last_name, company, job_title, phone, linkedin_url, website, city, state,
// country) with realistic values and unique addresses. The output depends
// on -rows and -seed only, so every run imports the same file.
//
//	go run ./.ci/gen-leads -rows 1000000 -o /tmp/leads.csv
//
// Phones are in international form and valid by libphonenumber's metadata
// (the importer rejects others), and countries are ISO-2 codes, so every
// row of the file is imported. Row i's address is
// first.last<i>@<company domain>: .ci/bench-leads derives its search terms
// from that shape.
package main

import (
	"bufio"
	"encoding/csv"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
)

var firstNames = strings.Fields(`James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth
William Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Lisa Matthew Nancy
Anthony Betty Mark Sandra Donald Margaret Steven Ashley Andrew Kimberly Paul Emily Joshua Donna
Kenneth Michelle Kevin Carol Brian Amanda George Melissa Timothy Deborah Ronald Stephanie Jason
Rebecca Edward Sharon Jeffrey Laura Ryan Cynthia Jacob Amy Gary Kathleen Nicholas Angela Eric
Shirley Jonathan Brenda Stephen Emma Larry Anna Justin Pamela Scott Nicole Brandon Samantha
Benjamin Katherine Samuel Christine Gregory Helen Alexander Debra Patrick Rachel Frank Carolyn
Raymond Janet Jack Maria Dennis Olivia Jerry Heather Tyler Diane Aaron Julie Jose Joyce Adam
Victoria Nathan Ruth Henry Virginia Zachary Lauren Douglas Kelly Peter Christina Kyle Joan Noah
Evelyn Ethan Judith Jeremy Andrea Christian Hannah Walter Megan Keith Cheryl Austin Jacqueline
Roger Martha Terry Madison Sean Teresa Gerald Gloria Carl Sara Dylan Janice Harold Ann Jordan
Kathryn Jesse Abigail Bryan Sophia Lawrence Frances Arthur Jean Gabriel Alice Bruce Judy Logan
Isabella Billy Julia Joe Grace Alan Amber Juan Denise Elijah Danielle Willie Marilyn Albert
Beverly Wayne Charlotte Randy Natalie Mason Theresa Vincent Diana Liam Brittany Roy Doris Bobby
Kayla Caleb Alexis Bradley Lori Russell Marie Lucas Hugo Chloe Lena Mateo Sofia Luca Ines Yuki
Priya Arjun Wei Mei Omar Fatima Lars Ingrid Pierre Camille Klaus Greta Diego Lucia Tomas Elena`)

var lastNames = strings.Fields(`Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez
Martinez Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez
Thompson White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott
Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts
Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy
Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward
Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo
Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman
Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton
Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina
Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald Woods Washington
Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter
Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black
Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson
Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce
Hansen Peters Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong Hudson Carroll Lane
Riley Andrews Alvarado Ray Delgado Berry Perkins Hoffman Johnston Matthews Pena Richards Willis
Carpenter Lawrence Sandoval Dubois Moreau Laurent Muller Schneider Fischer Weber Becker Rossi
Russo Ferrari Esposito Bianchi Tanaka Suzuki Sato Kumar Singh Sharma Wang Zhang Liu Larsen Berg`)

var companyHeads = strings.Fields(`Acme Northwind Contoso Globex Initech Umbrella Stark Wayne Wonka
Hooli Vandelay Soylent Cyberdyne Tyrell Aperture Massive Blue Red Green Silver Golden Bright Swift
Iron Summit Harbor Pioneer Atlas Vertex Apex Nimbus Orbit Quantum Falcon Cedar Maple Oak Pine
River Lake Ocean Prairie Canyon Granite Copper Crystal Polar Solar Lunar Nova Stellar Vector Pixel
Signal Beacon Bridge Anchor Compass Keystone Lighthouse Meridian Horizon Evergreen Redwood Aspen
Willow Birch Sterling Sapphire Emerald Ruby Onyx Cobalt Indigo Crimson Amber Ivory Zenith Echo
Fusion Catalyst Momentum Velocity Elevate Ascend Bold Clear True Prime Core Rapid Smart Brightline`)

var companyTails = strings.Fields(`Analytics Logistics Systems Labs Software Consulting Partners
Holdings Networks Media Health Foods Energy Robotics Dynamics Capital Ventures Solutions Technologies
Industries Group Studios Works Security Cloud Data Marketing Design Retail Manufacturing Therapeutics`)

var companySuffixes = []string{"", "", "", " Inc", " LLC", " Ltd", " GmbH", " Co"}

var jobTitles = []string{"Chief Executive Officer", "Chief Technology Officer", "Chief Marketing Officer",
	"VP of Sales", "VP of Engineering", "VP of Marketing", "Head of Growth", "Head of Operations",
	"Sales Director", "Marketing Director", "Engineering Manager", "Product Manager", "Senior Product Manager",
	"Account Executive", "Senior Account Executive", "Sales Development Representative",
	"Business Development Manager", "Customer Success Manager", "Operations Manager", "Software Engineer",
	"Senior Software Engineer", "Data Scientist", "Data Analyst", "Marketing Manager", "Content Strategist",
	"Founder", "Co-Founder", "Managing Director", "Procurement Manager", "IT Director", "HR Manager",
	"Recruiter", "Financial Controller", "CFO", "COO", "Office Manager", "Partner", "Consultant"}

type place struct {
	city, state, country string
	phone                func(r *rand.Rand) string
}

func digits(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.IntN(10))
	}
	return string(b)
}

// nanp is a North American number in area code npa: exchange 2xx-9xx, never
// N11 or 555.
func nanp(npa string) func(r *rand.Rand) string {
	return func(r *rand.Rand) string {
		for {
			ex := strconv.Itoa(2+r.IntN(8)) + digits(r, 2)
			if ex[1:] == "11" || ex == "555" {
				continue
			}
			return "+1 " + npa + "-" + ex + "-" + digits(r, 4)
		}
	}
}

var places = []place{
	{"New York", "NY", "US", nanp("212")}, {"San Francisco", "CA", "US", nanp("415")},
	{"Los Angeles", "CA", "US", nanp("213")}, {"Chicago", "IL", "US", nanp("312")},
	{"Boston", "MA", "US", nanp("617")}, {"Seattle", "WA", "US", nanp("206")},
	{"Austin", "TX", "US", nanp("512")}, {"Denver", "CO", "US", nanp("303")},
	{"Atlanta", "GA", "US", nanp("404")}, {"Miami", "FL", "US", nanp("305")},
	{"Toronto", "ON", "CA", nanp("416")}, {"Vancouver", "BC", "CA", nanp("604")},
	{"London", "England", "GB", func(r *rand.Rand) string { return "+44 20 7" + digits(r, 3) + " " + digits(r, 4) }},
	{"Manchester", "England", "GB", func(r *rand.Rand) string {
		return "+44 161 " + strconv.Itoa(2+r.IntN(8)) + digits(r, 2) + " " + digits(r, 4)
	}},
	{"Berlin", "Berlin", "DE", func(r *rand.Rand) string { return "+49 30 " + strconv.Itoa(2+r.IntN(8)) + digits(r, 7) }},
	{"Munich", "Bavaria", "DE", func(r *rand.Rand) string { return "+49 89 " + strconv.Itoa(2+r.IntN(8)) + digits(r, 7) }},
	{"Paris", "Ile-de-France", "FR", func(r *rand.Rand) string {
		return "+33 1 " + strconv.Itoa(4+r.IntN(5)) + digits(r, 1) + " " + digits(r, 2) + " " + digits(r, 2) + " " + digits(r, 2)
	}},
	{"Madrid", "Madrid", "ES", func(r *rand.Rand) string { return "+34 91 " + digits(r, 3) + " " + digits(r, 2) + " " + digits(r, 2) }},
	{"Amsterdam", "North Holland", "NL", func(r *rand.Rand) string { return "+31 20 " + strconv.Itoa(2+r.IntN(8)) + digits(r, 6) }},
	{"Sydney", "NSW", "AU", func(r *rand.Rand) string { return "+61 2 9" + digits(r, 3) + " " + digits(r, 4) }},
}

var tlds = []string{".com", ".com", ".com", ".io", ".co", ".net", ".ai"}

// company is the name and the web domain of company number i.
func company(i int) (name, domain string) {
	h, t := companyHeads[i%len(companyHeads)], companyTails[(i/len(companyHeads))%len(companyTails)]
	name = h + " " + t + companySuffixes[i%len(companySuffixes)]
	domain = strings.ToLower(h+t) + tlds[i%len(tlds)]
	return name, domain
}

func main() {
	rows := flag.Int("rows", 1000000, "data rows to write")
	seed := flag.Uint64("seed", 7, "random seed")
	out := flag.String("o", "-", "output file (- is stdout)")
	flag.Parse()

	f := os.Stdout
	if *out != "-" {
		var err error
		if f, err = os.Create(*out); err != nil {
			fmt.Fprintln(os.Stderr, "gen-leads:", err)
			os.Exit(1)
		}
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := csv.NewWriter(bw)
	r := rand.New(rand.NewPCG(*seed, 0x1ead))
	companies := len(companyHeads) * len(companyTails)
	_ = w.Write([]string{"email", "first_name", "last_name", "company", "job_title", "phone",
		"linkedin_url", "website", "city", "state", "country"})
	for i := 1; i <= *rows; i++ {
		first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
		name, domain := company(r.IntN(companies))
		p := places[r.IntN(len(places))]
		lf, ll := strings.ToLower(first), strings.ToLower(last)
		_ = w.Write([]string{
			lf + "." + ll + strconv.Itoa(i) + "@" + domain,
			first, last, name,
			jobTitles[r.IntN(len(jobTitles))],
			p.phone(r),
			"https://www.linkedin.com/in/" + lf + "-" + ll + "-" + strconv.FormatUint(r.Uint64()>>24, 36),
			"https://www." + domain,
			p.city, p.state, p.country,
		})
	}
	w.Flush()
	err := w.Error()
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen-leads:", err)
		os.Exit(1)
	}
}
