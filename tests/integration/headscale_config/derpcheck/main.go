// derpcheck decodes a DERP map file the way Headscale does (hscontrol/derp/derp.go loadDERPMapFromPath:
// gopkg.in/yaml.v3 into tailcfg.DERPMap), then once more with KnownFields(true) so a key tailcfg has no
// field for fails instead of being dropped, and prints what Headscale would see as JSON.
//
// test_configtest.py builds it against the go.mod and go.sum of each Headscale version, offline, from
// the module cache that tests/testbed/go-binaries.sh filled.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"
	"tailscale.com/tailcfg"
)

func main() {
	b, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var derpMap tailcfg.DERPMap
	if err := yaml.Unmarshal(b, &derpMap); err != nil {
		fmt.Fprintln(os.Stderr, "decoding as headscale does:", err)
		os.Exit(1)
	}
	strict := yaml.NewDecoder(bytes.NewReader(b))
	strict.KnownFields(true)
	var check tailcfg.DERPMap
	if err := strict.Decode(&check); err != nil {
		fmt.Fprintln(os.Stderr, "a key tailcfg does not know:", err)
		os.Exit(1)
	}
	out, err := json.Marshal(derpMap)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println(string(out))
}
