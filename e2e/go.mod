module github.com/skmall/skmall/e2e

go 1.26.0
