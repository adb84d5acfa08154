// Command warehouse serves products and their stock, and reserves stock for orders.
package main

import (
	"github.com/skmall/skmall/platform/svc"
	"github.com/skmall/skmall/warehouse/internal/service"
)

func main() { svc.Main("warehouse", service.Run) }
