package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The ext4 model test from fixed seeds, in every build: random syscalls checked against the
 * model, a power cut, recovery checked against the model at the last commit; on every seed
 * e2fsck checks the image too, as the outside oracle beside our own checker. A failing seed
 * replays exactly: the sim host is deterministic.
 */
class ExtModelTest {
    private static ExtModel.Choices from(Random r) {
        return new ExtModel.Choices() {
            @Override
            public int pick(int bound) {
                return r.nextInt(bound);
            }

            @Override
            public byte[] bytes(int max) {
                byte[] b = new byte[r.nextInt(max + 1)];
                r.nextBytes(b);
                return b;
            }
        };
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
    void syscallsAgreeWithTheModelAndSurviveAPowerCut(long seed) throws Exception {
        ExtModel m = new ExtModel(seed, from(new Random(seed)));
        m.run(150);
        m.compareTree();
        m.run(60);
        byte[] image = m.powerCutAndCheck();
        ExtModel.assertE2fsckClean(image, "seed " + seed);
    }

    /**
     * Power cuts at every point of a commit, over many seeds: recovery must land on one side of
     * the commit. Some cuts fall between the commit block and the checkpoint, so the next mount
     * replays the journal; on those, e2fsck must also replay it to a clean filesystem. Every
     * recovered image is clean to e2fsck.
     */
    @Test
    void aPowerCutInsideACommitRecoversToOneSideOfIt() throws Exception {
        int recoveries = 0;
        for (long seed = 200; seed < 264; seed++) {
            Random r = new Random(seed);
            ExtModel m = new ExtModel(seed, from(r));
            m.run(100 + r.nextInt(60));
            byte[] image = m.powerCutDuringSyncAndCheck(r.nextInt(12));
            if (m.recovered()) {
                recoveries++;
                ExtModel.assertE2fsckRecovers(m.crashed, "seed " + seed);
            }
            ExtModel.assertE2fsckClean(image, "seed " + seed);
        }
        assertTrue(recoveries >= 5, "only " + recoveries + " of 64 cuts left a journal to replay");
    }

    @ParameterizedTest
    @ValueSource(longs = {101, 102, 103})
    void aCleanUnmountIsCleanToE2fsck(long seed) throws Exception {
        ExtModel m = new ExtModel(seed, from(new Random(seed)));
        m.run(250);
        ExtModel.assertE2fsckClean(m.closeAndCheck(), "seed " + seed);
    }
}
