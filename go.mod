module github.com/duo-go/duo

go 1.26.8
