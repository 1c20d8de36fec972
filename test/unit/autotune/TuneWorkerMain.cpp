// \file
// `kforge tune-worker` for the runner's tests, without the kforge tool: the
// worker entry point alone (RunnerTest.cpp starts it as the worker).
#include <cstdio>

#include "autotune/Runner.h"

int main(int argc, char **argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s REQUEST.json RESULT.json\n", argv[0]);
        return 2;
    }
    return kf::autotune::workerMain(argv[1], argv[2]);
}
