// Command token prints a token the local shop accepts (make token SUB=alice [ROLE=admin]),
// generating the local signing key on first use.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/skmall/skmall/platform/auth/devkeys"
)

func main() {
	dir := flag.String("keys", ".data/auth", "folder of the local signing key and its JWKS")
	sub := flag.String("sub", "", "the customer id (or operator name) the token speaks for")
	roles := flag.String("roles", "", "comma-separated roles, e.g. admin")
	ttl := flag.Duration("ttl", 12*time.Hour, "how long the token is valid")
	keysOnly := flag.Bool("keys-only", false, "only make sure the key pair exists; print the JWKS path")
	flag.Parse()

	keys, err := devkeys.Ensure(*dir)
	if err != nil {
		fail(err)
	}
	if *keysOnly {
		fmt.Println(keys.JWKSPath())
		return
	}
	if *sub == "" {
		fail(fmt.Errorf("usage: make token SUB=<customerId> [ROLE=admin]"))
	}
	var rs []string
	if *roles != "" {
		rs = strings.Split(*roles, ",")
	}
	tok, err := keys.Token(*sub, rs, *ttl)
	if err != nil {
		fail(err)
	}
	fmt.Println(tok)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "token:", err)
	os.Exit(1)
}
