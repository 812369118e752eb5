module github.com/walkerhq/walker

go 1.26
